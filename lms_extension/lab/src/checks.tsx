/** Knowledge checks: a "Knowledge check" button in the toolbar of a lesson notebook whose lesson
 * asks questions; the dialog sends the answers to the LMS service (through the server
 * extension), which grades them, and shows per question right or not. */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { INotebookModel, NotebookPanel } from '@jupyterlab/notebook';
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget, ToolbarButton } from '@jupyterlab/ui-components';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';
import * as React from 'react';

import { postAPI, requestAPI } from './api';
import { ILessonRef } from './logic';
import { languageOf, pick, Texts } from './localize';
import { ICourseModel } from './model';
import { COMMANDS, DOMAIN, ICourseModelToken, PLUGIN } from './tokens';

type Answer = string | string[];

interface ICheckQuestion {
  id: string;
  type: 'single' | 'multiple' | 'numeric' | 'text';
  text: string;
  texts?: Texts;
  options?: string[];
  labels?: Texts[];
}

interface IAttempt {
  correct: number;
  total: number;
  passed: boolean;
  results: Record<string, boolean>;
}

interface IChecks {
  checks: { title: string; titles?: Texts; questions: ICheckQuestion[] };
  attempts: number;
  passed: boolean;
  best: IAttempt | null;
  latest: IAttempt | null;
}

interface IGraded extends IChecks, IAttempt {}

class ChecksBody extends ReactWidget {
  constructor(
    private _checks: IChecks,
    private _lang: string,
    private _trans: TranslationBundle
  ) {
    super();
    this.addClass('lms-Checks');
  }

  answers: Record<string, Answer> = {};
  graded: IGraded | null = null;

  getValue(): Record<string, Answer> {
    return this.answers;
  }

  private _set(id: string, value: Answer): void {
    this.answers = { ...this.answers, [id]: value };
    this.update();
  }

  private _input(q: ICheckQuestion): JSX.Element {
    const value = this.answers[q.id];
    const name = `lms-check-${q.id}`;
    if (q.type === 'single' || q.type === 'multiple') {
      const chosen = Array.isArray(value) ? value : [];
      return (
        <div className="lms-Choices">
          {(q.options ?? []).map((option, i) => (
            <label key={option} className="lms-Choice">
              {q.type === 'single' ? (
                <input type="radio" name={name} value={option} checked={value === option} onChange={() => this._set(q.id, option)} />
              ) : (
                <input
                  type="checkbox"
                  name={name}
                  value={option}
                  checked={chosen.includes(option)}
                  onChange={e => this._set(q.id, e.target.checked ? [...chosen, option] : chosen.filter(o => o !== option))}
                />
              )}
              {pick(q.labels?.[i], this._lang, option)}
            </label>
          ))}
        </div>
      );
    }
    return (
      <input
        type="text"
        name={name}
        className="lms-CheckInput"
        inputMode={q.type === 'numeric' ? 'decimal' : 'text'}
        maxLength={500}
        value={typeof value === 'string' ? value : ''}
        onChange={e => this._set(q.id, e.target.value)}
      />
    );
  }

  render(): JSX.Element {
    const trans = this._trans;
    const graded = this.graded;
    const previous = this._checks.best;
    return (
      <form onSubmit={e => e.preventDefault()}>
        {graded ? (
          <p className={`lms-Checks-score${graded.passed ? ' lms-Checks-passed' : ''}`} role="status">
            {trans.__('%1 of %2 right.', graded.correct, graded.total)}{' '}
            {graded.passed ? trans.__('Passed.') : trans.__('Not passed yet: try again.')}
          </p>
        ) : (
          previous && (
            <p className="lms-Checks-previous">
              {trans.__('Your best so far: %1 of %2 right.', previous.correct, previous.total)}
            </p>
          )
        )}
        {this._checks.checks.questions.map((q, i) => {
          const right = graded ? graded.results[q.id] : undefined;
          return (
            <fieldset key={q.id} className="lms-Question" data-question={q.id} data-result={right === undefined ? '' : right ? 'right' : 'wrong'}>
              <legend>
                {i + 1}. {pick(q.texts, this._lang, q.text)}
              </legend>
              {this._input(q)}
              {right !== undefined && (
                <span className={right ? 'lms-Check-right' : 'lms-Check-wrong'}>
                  {right ? `✓ ${trans.__('Right')}` : `✗ ${trans.__('Wrong')}`}
                </span>
              )}
            </fieldset>
          );
        })}
      </form>
    );
  }
}

/** The answers as the service takes them: numbers as numbers, empty ones left out. */
function cleaned(questions: ICheckQuestion[], answers: Record<string, Answer>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const q of questions) {
    const value = answers[q.id];
    if (value === undefined || value === '' || (Array.isArray(value) && !value.length)) {
      continue;
    }
    const number = typeof value === 'string' ? Number(value.trim().replace(',', '.')) : NaN;
    out[q.id] = q.type === 'numeric' && Number.isFinite(number) ? number : value;
  }
  return out;
}

export const checksPlugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN.checks,
  description: 'Knowledge checks of a lesson, graded by the LMS service.',
  autoStart: true,
  requires: [ICourseModelToken, ITranslator],
  activate: (app: JupyterFrontEnd, model: ICourseModel, translator: ITranslator) => {
    const trans = translator.load(DOMAIN);
    const lang = languageOf(translator);
    let open = false;

    const ask = async (ref: ILessonRef): Promise<void> => {
      if (open) {
        return;
      }
      const path = `checks/${ref.course.slug}/${ref.lesson.slug}`;
      let checks: IChecks;
      try {
        checks = await requestAPI<IChecks>(path);
      } catch (error) {
        Notification.warning(trans.__('The knowledge check could not be loaded: %1', String(error)), { autoClose: 8000 });
        return;
      }
      open = true;
      const body = new ChecksBody(checks, lang, trans);
      try {
        for (;;) {
          const result = await showDialog({
            title: pick(checks.checks.titles, lang, checks.checks.title),
            body,
            buttons: [Dialog.cancelButton({ label: trans.__('Close') }), Dialog.okButton({ label: trans.__('Check my answers') })]
          });
          if (!result.button.accept) {
            return;
          }
          try {
            body.graded = await postAPI<IGraded>(path, { answers: cleaned(checks.checks.questions, body.answers) });
          } catch (error) {
            Notification.error(trans.__('Your answers could not be checked: %1', String(error)), { autoClose: 8000 });
            continue;
          }
          if (body.graded.passed) {
            void model.refresh();
          }
        }
      } finally {
        open = false;
        body.dispose();
      }
    };

    app.commands.addCommand(COMMANDS.checks, {
      label: trans.__('Knowledge check'),
      execute: args => {
        const ref = model.findLesson(String(args.course), String(args.lesson));
        return ref ? ask(ref) : undefined;
      }
    });

    app.docRegistry.addWidgetExtension('Notebook', {
      createNew: (panel: NotebookPanel, context: DocumentRegistry.IContext<INotebookModel>): IDisposable => {
        let button: ToolbarButton | null = null;
        void model.ready.then(() => {
          const ref = model.lessonForPath(context.path);
          if (panel.isDisposed || !ref || !ref.lesson.knowledge_checks) {
            return;
          }
          button = new ToolbarButton({
            className: 'lms-Checks-button',
            label: trans.__('Knowledge check'),
            tooltip: trans.__('Answer the lesson’s knowledge check'),
            onClick: () => void app.commands.execute(COMMANDS.checks, { course: ref.course.slug, lesson: ref.lesson.slug })
          });
          panel.toolbar.addItem('lms-checks', button);
        });
        return new DisposableDelegate(() => button?.dispose());
      }
    });
  }
};
