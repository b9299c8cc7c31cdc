/** The survey dialog shown when a lesson completes; 'Later' puts it off and asks again. */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { requestAPI } from './api';
import { answerProblems, Answers, cleanAnswers, dueReminders, ISurvey, ISurveyQuestion, Postponed } from './logic';
import { ILocalizedQuestion, languageOf, localizeSurvey } from './localize';
import { ICourseModel } from './model';
import { COMMANDS, DOMAIN, ICourseModelToken, PLUGIN } from './tokens';

const POSTPONED_KEY = 'lms-course:surveys-later';
const REMIND_AFTER_MS = 30 * 60 * 1000;
const CHECK_EVERY_MS = 60 * 1000;

function Question(props: {
  q: ISurveyQuestion;
  value: Answers[string] | undefined;
  set: (value: Answers[string]) => void;
  trans: TranslationBundle;
  flagged: boolean;
}): JSX.Element {
  const { q, value, set, trans } = props;
  const name = `lms-q-${q.id}`;
  let input: JSX.Element;
  if (q.type === 'rating') {
    const scale = q.scale ?? 5;
    input = (
      <div className="lms-Rating" role="radiogroup">
        {q.low_label && <span className="lms-Rating-label">{q.low_label}</span>}
        {Array.from({ length: scale }, (_, i) => i + 1).map(n => (
          <label key={n} className="lms-Rating-option">
            <input type="radio" name={name} value={n} checked={value === n} onChange={() => set(n)} />
            {n}
          </label>
        ))}
        {q.high_label && <span className="lms-Rating-label">{q.high_label}</span>}
      </div>
    );
  } else if (q.type === 'single' || q.type === 'multiple') {
    const chosen = Array.isArray(value) ? value : [];
    input = (
      <div className="lms-Choices">
        {(q.options ?? []).map((option, i) => (
          <label key={option} className="lms-Choice">
            {q.type === 'single' ? (
              <input type="radio" name={name} value={option} checked={value === option} onChange={() => set(option)} />
            ) : (
              <input
                type="checkbox"
                name={name}
                value={option}
                checked={chosen.includes(option)}
                onChange={e => set(e.target.checked ? [...chosen, option] : chosen.filter(o => o !== option))}
              />
            )}
            {(q as ILocalizedQuestion).option_labels?.[i] ?? option}
          </label>
        ))}
      </div>
    );
  } else {
    input = (
      <textarea
        name={name}
        className="lms-Text"
        maxLength={q.max_length ?? 1000}
        value={typeof value === 'string' ? value : ''}
        onChange={e => set(e.target.value)}
      />
    );
  }
  return (
    <fieldset className={`lms-Question${props.flagged ? ' lms-Question-flagged' : ''}`} data-question={q.id}>
      <legend>
        {q.text}
        {q.required && <span className="lms-Required"> ({trans.__('required')})</span>}
      </legend>
      {input}
    </fieldset>
  );
}

class SurveyBody extends ReactWidget {
  constructor(
    private _survey: ISurvey,
    private _lessonTitle: string,
    private _trans: TranslationBundle
  ) {
    super();
    this.addClass('lms-Survey');
  }

  answers: Answers = {};
  flagged: string[] = [];

  getValue(): Answers {
    return this.answers;
  }

  render(): JSX.Element {
    const trans = this._trans;
    return (
      <form onSubmit={e => e.preventDefault()}>
        <p className="lms-Survey-lesson">{trans.__('You completed “%1”.', this._lessonTitle)}</p>
        {this._survey.description && <p className="lms-Survey-description">{this._survey.description}</p>}
        {this.flagged.length > 0 && (
          <p className="lms-Survey-problem" role="alert">
            {trans.__('Please answer the marked questions.')}
          </p>
        )}
        {this._survey.questions.map(q => (
          <Question
            key={q.id}
            q={q}
            trans={trans}
            value={this.answers[q.id]}
            flagged={this.flagged.includes(q.id)}
            set={value => {
              this.answers = { ...this.answers, [q.id]: value };
              this.update();
            }}
          />
        ))}
      </form>
    );
  }
}

function readPostponed(): Postponed {
  try {
    return JSON.parse(localStorage.getItem(POSTPONED_KEY) ?? '{}') as Postponed;
  } catch {
    return {};
  }
}

function writePostponed(value: Postponed): void {
  localStorage.setItem(POSTPONED_KEY, JSON.stringify(value));
}

export const surveyPlugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN.survey,
  description: 'Asks the lesson survey when a lesson completes.',
  autoStart: true,
  requires: [ICourseModelToken, ITranslator],
  activate: (app: JupyterFrontEnd, model: ICourseModel, translator: ITranslator) => {
    const trans = translator.load(DOMAIN);
    let asking = false;

    const ask = async (course: string, lesson: string): Promise<void> => {
      const ref = model.findLesson(course, lesson);
      if (!ref || !ref.lesson.survey || asking) {
        return;
      }
      const key = `${course}/${lesson}`;
      let survey: ISurvey;
      try {
        ({ survey } = await requestAPI<{ survey: ISurvey }>(`surveys/${course}/${lesson}`));
        survey = localizeSurvey(survey, languageOf(translator));
      } catch (error) {
        Notification.warning(trans.__('The survey for “%1” could not be loaded: %2', ref.lesson.title, String(error)), {
          autoClose: 8000
        });
        return;
      }
      asking = true;
      const body = new SurveyBody(survey, ref.lesson.title, trans);
      try {
        for (;;) {
          const result = await showDialog({
            title: survey.title,
            body,
            buttons: [Dialog.cancelButton({ label: trans.__('Later') }), Dialog.okButton({ label: trans.__('Submit') })]
          });
          if (!result.button.accept) {
            writePostponed({ ...readPostponed(), [key]: Date.now() + REMIND_AFTER_MS });
            return;
          }
          const problems = answerProblems(survey, body.answers);
          body.flagged = [...problems.missing, ...problems.tooLong];
          if (body.flagged.length) {
            continue;
          }
          model.record('survey_submitted', ref, { answers: cleanAnswers(body.answers) });
          const postponed = readPostponed();
          delete postponed[key];
          writePostponed(postponed);
          await model.flush();
          Notification.success(trans.__('Thank you: your answers were sent.'), { autoClose: 4000 });
          return;
        }
      } finally {
        asking = false;
      }
    };

    app.commands.addCommand(COMMANDS.survey, {
      label: trans.__('Lesson survey'),
      execute: args => ask(String(args.course), String(args.lesson))
    });
    model.completed.connect((_, keys) => {
      for (const key of keys) {
        const [course, lesson] = key.split('/');
        void ask(course, lesson);
      }
    });
    const remind = () => {
      const [key] = dueReminders(readPostponed(), Date.now());
      if (key) {
        const [course, lesson] = key.split('/');
        void ask(course, lesson);
      }
    };
    void model.ready.then(remind);
    setInterval(remind, CHECK_EVERY_MS);
  }
};
