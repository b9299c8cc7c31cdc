/**
 * The course logic of the labextension, free of JupyterLab imports so that it is unit-tested
 * in plain Node: lesson lookup by notebook path, prev/next, statuses, the version handshake
 * and the idle-culling warning.
 */

export type LessonStatus = 'not_started' | 'in_progress' | 'completed' | 'delayed';

export interface ILesson {
  slug: string;
  title: string;
  environment: string;
  due?: string | null;
  survey?: string | null;
  completion: { rule: 'executed' | 'manual' | 'checks'; fraction: number; checks?: boolean };
  /** Paths relative to the home folder: `<course>/<path in the course>`. */
  notebooks: string[];
  status?: LessonStatus;
  code_cells?: number;
  /** How many knowledge-check questions the lesson asks (0: none). */
  knowledge_checks?: number;
  cells_ok?: number;
  completed_at?: string | null;
}

export interface ICourse {
  slug: string;
  title: string;
  lessons: ILesson[];
}

export interface IOutline {
  version?: string | null;
  courses: ICourse[];
  stale?: boolean;
  error?: string;
  /** Events of this learner still waiting to reach the LMS service: statuses may be behind. */
  pending_events?: number;
  /** Days ahead of a due date from which a lesson shows "Due in N days" (the service's setting). */
  due_soon_days?: number | null;
}

export interface ILessonRef {
  course: ICourse;
  lesson: ILesson;
  index: number;
}

/** The lesson a notebook at `path` (relative to the home folder) belongs to, if any. */
export function lessonForPath(outline: IOutline, path: string): ILessonRef | null {
  const clean = path.replace(/^\/+/, '');
  for (const course of outline.courses) {
    const index = course.lessons.findIndex(l => l.notebooks.includes(clean));
    if (index >= 0) {
      return { course, lesson: course.lessons[index], index };
    }
  }
  return null;
}

export function findLesson(outline: IOutline, course: string, lesson: string): ILessonRef | null {
  const c = outline.courses.find(item => item.slug === course);
  const index = c ? c.lessons.findIndex(l => l.slug === lesson) : -1;
  return c && index >= 0 ? { course: c, lesson: c.lessons[index], index } : null;
}

/** The lessons before and after `ref` in course order (null at either end). */
export function neighbours(ref: ILessonRef): { prev: ILessonRef | null; next: ILessonRef | null } {
  const at = (index: number): ILessonRef | null =>
    index >= 0 && index < ref.course.lessons.length
      ? { course: ref.course, lesson: ref.course.lessons[index], index }
      : null;
  return { prev: at(ref.index - 1), next: at(ref.index + 1) };
}

export function statusOf(lesson: ILesson): LessonStatus {
  return lesson.status ?? 'not_started';
}

/** Percentage of the lesson's code cells run without error (100 once completed). */
export function progressPercent(lesson: ILesson): number {
  if (statusOf(lesson) === 'completed') {
    return 100;
  }
  const total = lesson.code_cells ?? 0;
  if (!total) {
    return 0;
  }
  return Math.min(100, Math.round((100 * (lesson.cells_ok ?? 0)) / total));
}

/** Course progress: the share of its lessons completed, in percent. */
export function courseProgress(course: ICourse): number {
  if (!course.lessons.length) {
    return 0;
  }
  const done = course.lessons.filter(l => statusOf(l) === 'completed').length;
  return Math.round((100 * done) / course.lessons.length);
}

/** A due date for display: `YYYY-MM-DD` (empty when none or not a date). */
export function formatDue(due?: string | null): string {
  if (!due) {
    return '';
  }
  const date = new Date(due);
  return isNaN(date.getTime()) ? '' : date.toISOString().slice(0, 10);
}

/** Days ahead of a due date from which the sidebar marks a lesson due soon, when the LMS
 * service names none (its `due_soon_days` setting has the same default). */
export const DUE_SOON_DAYS = 3;

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Calendar days (in the learner's time zone) until the lesson is due: 0 today, 1 tomorrow; null
 * when it is completed or delayed, has no due date, or is due later than `windowDays` after
 * `now` (or already past).
 */
export function dueInDays(lesson: ILesson, now: Date, windowDays: number = DUE_SOON_DAYS): number | null {
  const status = statusOf(lesson);
  if (!lesson.due || status === 'completed' || status === 'delayed') {
    return null;
  }
  const due = new Date(lesson.due);
  const left = due.getTime() - now.getTime();
  if (isNaN(left) || left < 0 || left > windowDays * DAY_MS) {
    return null;
  }
  const day = (d: Date): number => Date.UTC(d.getFullYear(), d.getMonth(), d.getDate());
  return Math.round((day(due) - day(now)) / DAY_MS);
}

/** Lessons whose status turned 'completed' between two outlines (by `course/lesson`). */
export function newlyCompleted(before: IOutline | null, after: IOutline): string[] {
  if (!before) {
    return [];
  }
  const old = new Map<string, LessonStatus>();
  for (const course of before.courses) {
    for (const lesson of course.lessons) {
      old.set(`${course.slug}/${lesson.slug}`, statusOf(lesson));
    }
  }
  const keys: string[] = [];
  for (const course of after.courses) {
    for (const lesson of course.lessons) {
      const key = `${course.slug}/${lesson.slug}`;
      if (statusOf(lesson) === 'completed' && old.has(key) && old.get(key) !== 'completed') {
        keys.push(key);
      }
    }
  }
  return keys;
}

/**
 * The version handshake: the frontend and the server extension come from one package and
 * must carry the same version. Returns the problem, or '' when they match.
 */
export function versionProblem(frontend: string, server: string | undefined): string {
  if (!server) {
    return `the course server extension did not answer (labextension ${frontend})`;
  }
  return server === frontend
    ? ''
    : `labextension ${frontend} and server extension ${server} differ; ` +
        'reinstall the lms-platform package in this image and restart the server';
}

/**
 * Seconds until an idle server is stopped, or null when no warning is due yet.
 * `timeout` is the idle time after which it is stopped (0: never); the warning starts
 * `warnBefore` seconds ahead.
 */
export function secondsUntilCull(
  lastActivity: Date,
  now: Date,
  timeout: number,
  warnBefore: number
): number | null {
  if (!timeout || timeout <= 0) {
    return null;
  }
  const idle = (now.getTime() - lastActivity.getTime()) / 1000;
  const left = timeout - idle;
  return left <= warnBefore ? Math.max(0, Math.round(left)) : null;
}

/** Parse the `data:` lines of a server-sent event stream chunk (complete events only). */
export function parseEventStream(buffer: string): { events: unknown[]; rest: string } {
  const events: unknown[] = [];
  const parts = buffer.split('\n\n');
  const rest = parts.pop() ?? '';
  for (const part of parts) {
    const data = part
      .split('\n')
      .filter(line => line.startsWith('data:'))
      .map(line => line.slice(5).trim())
      .join('\n');
    if (data) {
      try {
        events.push(JSON.parse(data));
      } catch {
        // a keep-alive or a malformed line: nothing to show
      }
    }
  }
  return { events, rest };
}

export interface ISurveyQuestion {
  id: string;
  text: string;
  required?: boolean;
  type: 'rating' | 'single' | 'multiple' | 'text';
  scale?: number;
  low_label?: string | null;
  high_label?: string | null;
  options?: string[];
  max_length?: number;
}

export interface ISurvey {
  title: string;
  description?: string;
  questions: ISurveyQuestion[];
}

export type Answers = Record<string, number | string | string[]>;

/** The ids of required questions left unanswered, and of text answers that are too long. */
export function answerProblems(survey: ISurvey, answers: Answers): { missing: string[]; tooLong: string[] } {
  const missing: string[] = [];
  const tooLong: string[] = [];
  for (const q of survey.questions) {
    const value = answers[q.id];
    const empty = value === undefined || value === '' || (Array.isArray(value) && !value.length);
    if (empty && q.required) {
      missing.push(q.id);
    }
    if (q.type === 'text' && typeof value === 'string' && value.length > (q.max_length ?? 1000)) {
      tooLong.push(q.id);
    }
  }
  return { missing, tooLong };
}

/** Answers without empty values, as the LMS service takes them. */
export function cleanAnswers(answers: Answers): Answers {
  const result: Answers = {};
  for (const [key, value] of Object.entries(answers)) {
    if (value !== '' && !(Array.isArray(value) && !value.length)) {
      result[key] = value;
    }
  }
  return result;
}

/** Surveys put off with 'Later': `course/lesson` → when to ask again (ms since epoch). */
export type Postponed = Record<string, number>;

export function dueReminders(postponed: Postponed, now: number): string[] {
  return Object.entries(postponed)
    .filter(([, at]) => at <= now)
    .map(([key]) => key)
    .sort();
}
