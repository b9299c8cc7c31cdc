/** The course sidebar: the ordered lesson tree with status, due date and progress. */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { LabIcon, ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import * as React from 'react';

import courseSvg from '../style/icons/course.svg';

import {
  courseProgress,
  DUE_SOON_DAYS,
  dueInDays,
  formatDue,
  ICourse,
  ILesson,
  progressPercent,
  statusOf
} from './logic';
import { ICourseModel } from './model';
import { CourseSearch } from './search';
import { COMMANDS, DOMAIN, ICourseModelToken, PLUGIN } from './tokens';

const courseIcon = new LabIcon({ name: 'lms-course:course', svgstr: courseSvg });

const STATUS_MARK: Record<string, string> = {
  not_started: '○',
  in_progress: '◐',
  completed: '●',
  delayed: '!'
};

function statusLabel(trans: TranslationBundle, status: string): string {
  switch (status) {
    case 'completed':
      return trans.__('Completed');
    case 'in_progress':
      return trans.__('In progress');
    case 'delayed':
      return trans.__('Delayed');
    default:
      return trans.__('Not started');
  }
}

function dueSoonLabel(trans: TranslationBundle, days: number): string {
  if (days === 0) {
    return trans.__('Due today');
  }
  return days === 1 ? trans.__('Due tomorrow') : trans.__('Due in %1 days', days);
}

interface ILessonRowProps {
  course: ICourse;
  lesson: ILesson;
  current: boolean;
  /** Days ahead of a due date from which the lesson is marked due soon. */
  dueSoonDays: number;
  trans: TranslationBundle;
  open: () => void;
}

function LessonRow(props: ILessonRowProps): JSX.Element {
  const { lesson, trans } = props;
  const status = statusOf(lesson);
  const due = formatDue(lesson.due);
  const dueIn = dueInDays(lesson, new Date(), props.dueSoonDays);
  const percent = progressPercent(lesson);
  return (
    <li
      className={`lms-Lesson lms-Lesson-${status}${props.current ? ' lms-Lesson-current' : ''}`}
      data-lesson={`${props.course.slug}/${lesson.slug}`}
      data-status={status}
    >
      <button className="lms-Lesson-open" onClick={props.open} title={trans.__('Open %1', lesson.title)}>
        <span className="lms-Lesson-status" role="img" aria-label={statusLabel(trans, status)} title={statusLabel(trans, status)}>
          {STATUS_MARK[status] ?? STATUS_MARK.not_started}
        </span>
        <span className="lms-Lesson-title">{lesson.title}</span>
      </button>
      <div className="lms-Lesson-meta">
        {status === 'delayed' && <span className="lms-Badge lms-Badge-delayed">{trans.__('Delayed')}</span>}
        {dueIn !== null && <span className="lms-Badge lms-Badge-due">{dueSoonLabel(trans, dueIn)}</span>}
        {due && <span className="lms-Lesson-due">{trans.__('Due %1', due)}</span>}
        <span className="lms-Lesson-percent" aria-label={trans.__('Progress')}>
          {percent}%
        </span>
      </div>
      <div className="lms-Progress" aria-hidden="true">
        <div className="lms-Progress-bar" style={{ width: `${percent}%` }} />
      </div>
    </li>
  );
}

function Outline(props: { model: ICourseModel; app: JupyterFrontEnd; trans: TranslationBundle }): JSX.Element {
  const { model, app, trans } = props;
  const outline = model.outline;
  const context = model.context;
  return (
    <div className="lms-Sidebar-body">
      {outline.stale && (
        <div className="lms-Notice lms-Notice-stale">
          {outline.courses.length
            ? trans.__('The course service cannot be reached; showing the status saved earlier.')
            : trans.__('The course service cannot be reached.')}
        </div>
      )}
      {context?.error && <div className="lms-Notice lms-Notice-error">{context.error}</div>}
      {outline.courses.map(course => (
        <section className="lms-Course" key={course.slug} data-course={course.slug}>
          <header className="lms-Course-header">
            <h2 className="lms-Course-title">{course.title}</h2>
            <span className="lms-Course-progress">{trans.__('%1% complete', courseProgress(course))}</span>
          </header>
          <ol className="lms-Lessons">
            {course.lessons.map(lesson => (
              <LessonRow
                key={lesson.slug}
                course={course}
                lesson={lesson}
                trans={trans}
                dueSoonDays={outline.due_soon_days ?? DUE_SOON_DAYS}
                current={context?.course === course.slug && context?.lesson === lesson.slug}
                open={() =>
                  void app.commands.execute(COMMANDS.openLesson, { course: course.slug, lesson: lesson.slug })
                }
              />
            ))}
          </ol>
        </section>
      ))}
    </div>
  );
}

class CourseSidebar extends ReactWidget {
  constructor(
    private _model: ICourseModel,
    private _app: JupyterFrontEnd,
    private _trans: TranslationBundle,
    private _language = 'en'
  ) {
    super();
    this.id = 'lms-course-sidebar';
    this.addClass('lms-Sidebar');
    this.title.icon = courseIcon;
    this.title.caption = _trans.__('Course');
  }

  render(): JSX.Element {
    return (
      <>
        <CourseSearch app={this._app} trans={this._trans} language={this._language} />
        <UseSignal signal={this._model.changed}>
          {() => (
            <>
              <h1 className="lms-Sidebar-title">{this._trans.__('Course')}</h1>
              <Outline model={this._model} app={this._app} trans={this._trans} />
            </>
          )}
        </UseSignal>
      </>
    );
  }
}

export const sidebarPlugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN.sidebar,
  description: 'The course as an ordered lesson tree in the left sidebar.',
  autoStart: true,
  requires: [ICourseModelToken, ITranslator],
  activate: (app: JupyterFrontEnd, model: ICourseModel, translator: ITranslator) => {
    const trans = translator.load(DOMAIN);
    const sidebar = new CourseSidebar(model, app, trans, translator.languageCode);
    app.shell.add(sidebar, 'left', { rank: 50 });
    // after the layout is restored, which would otherwise bring back another panel
    void Promise.all([model.ready, app.restored]).then(() => {
      if (model.context?.course) {
        app.shell.activateById(sidebar.id);
      }
    });
  }
};
