/** The course model shared by the plugins: lesson context, outline and learner events. */
import { ISignal, Signal } from '@lumino/signaling';

import { postAPI, requestAPI } from './api';
import {
  EventBatcher,
  EventKind,
  IBatchResult,
  IEventLimits,
  ILearnerEvent,
  newEventId
} from './batcher';
import { ILessonRef, IOutline, findLesson, lessonForPath, newlyCompleted } from './logic';
import { localizeOutline } from './localize';

/** What the server extension says about this server (`/lms/api/context`). */
export interface IContext {
  version: string;
  course: string;
  lesson: string;
  content_version: string;
  environment: string;
  server_name: string;
  user: string;
  /** Seconds of inactivity after which this server is stopped (0: never). */
  idle_timeout: number;
  error: string;
  update?: IUpdateReport | null;
  /** What one events batch may hold. */
  limits?: IEventLimits;
  /** An editor's preview of an unpublished ref: '<ref>@<commit>' (null otherwise). */
  preview?: string | null;
}

export interface IUpdateReport {
  from_version: string;
  to_version: string;
  updated: string[];
  conflicts: { path: string; kept_as: string }[];
  error?: string;
}

export interface ICourseModel {
  readonly context: IContext | null;
  readonly outline: IOutline;
  readonly changed: ISignal<ICourseModel, void>;
  /** `course/lesson` keys of lessons that have just turned completed. */
  readonly completed: ISignal<ICourseModel, string[]>;
  readonly ready: Promise<void>;
  refresh(): Promise<void>;
  lessonForPath(path: string): ILessonRef | null;
  findLesson(course: string, lesson: string): ILessonRef | null;
  record(kind: EventKind, ref: ILessonRef, extra?: Partial<ILearnerEvent>): void;
  /** Send pending events now; true when none is left. */
  flush(): Promise<boolean>;
}

const OUTLINE_POLL_MS = 30000;
const PENDING_FIRST_WAIT_MS = 2000;
/** While events are on their way, the outline is looked at again at least this often. */
const PENDING_MAX_WAIT_MS = 8000;

export class CourseModel implements ICourseModel {
  constructor(store: Storage, lang = 'en') {
    this._lang = lang;
    this._batcher = new EventBatcher({
      store,
      send: async events => {
        const answer = await postAPI<IBatchResult>('events', { events });
        // the service may have changed a status: look again soon
        this._scheduleRefresh(1500);
        return answer;
      },
      onRefused: (event, refusal) =>
        console.warn(
          `lms-course: the server refused a ${event.kind} event: ${refusal.field}: ${refusal.reason}`
        )
    });
    this.ready = this._start();
  }

  readonly ready: Promise<void>;

  get context(): IContext | null {
    return this._context;
  }

  get outline(): IOutline {
    return this._outline;
  }

  get changed(): ISignal<ICourseModel, void> {
    return this._changed;
  }

  get completed(): ISignal<ICourseModel, string[]> {
    return this._completed;
  }

  async refresh(): Promise<void> {
    let outline: IOutline;
    try {
      outline = localizeOutline(await requestAPI<IOutline>('outline', {}, false), this._lang);
    } catch (error) {
      outline = { ...this._outline, stale: true, error: String(error) };
    }
    const done = newlyCompleted(this._hasOutline ? this._outline : null, outline);
    this._outline = outline;
    if (outline.pending_events || (outline.stale && outline.courses.length)) {
      // events on their way to the service, or the saved status served while the service was
      // slow: look again soon, less often the longer it takes
      this._scheduleRefresh(this._pendingWait);
      this._pendingWait = Math.min(this._pendingWait * 2, PENDING_MAX_WAIT_MS);
    } else {
      this._pendingWait = PENDING_FIRST_WAIT_MS;
    }
    this._hasOutline = this._hasOutline || !outline.error || outline.courses.length > 0;
    this._changed.emit();
    if (done.length) {
      this._completed.emit(done);
    }
  }

  lessonForPath(path: string): ILessonRef | null {
    return lessonForPath(this._outline, path);
  }

  findLesson(course: string, lesson: string): ILessonRef | null {
    return findLesson(this._outline, course, lesson);
  }

  record(kind: EventKind, ref: ILessonRef, extra: Partial<ILearnerEvent> = {}): void {
    const now = Date.now();
    const active = Math.min(300, Math.max(0, (now - this._lastEventAt) / 1000));
    this._lastEventAt = now;
    this._batcher.add({
      id: newEventId(),
      kind,
      course: ref.course.slug,
      lesson: ref.lesson.slug,
      at: new Date(now).toISOString(),
      active_seconds: Math.round(active * 10) / 10,
      ...extra
    });
  }

  flush(): Promise<boolean> {
    return this._batcher.flush();
  }

  private async _start(): Promise<void> {
    // the context and the outline at once: one round trip before the model is ready, not two
    const context = requestAPI<IContext>('context', {}, false).catch(() => null);
    const outline = this.refresh();
    this._context = await context;
    if (this._context?.limits) {
      this._batcher.setLimits(this._context.limits);
    }
    await outline;
    this._changed.emit(); // the outline may have come first: show it with the context
    void this._batcher.flush(); // events left from an earlier page load
    setInterval(() => void this.refresh(), OUTLINE_POLL_MS);
  }

  private _scheduleRefresh(ms: number): void {
    if (this._refreshTimer) {
      return;
    }
    this._refreshTimer = setTimeout(() => {
      this._refreshTimer = null;
      void this.refresh();
    }, ms);
  }

  private _context: IContext | null = null;
  private _lang: string;
  private _outline: IOutline = { courses: [] };
  private _hasOutline = false;
  private _batcher: EventBatcher;
  private _lastEventAt = Date.now();
  private _refreshTimer: ReturnType<typeof setTimeout> | null = null;
  private _pendingWait = PENDING_FIRST_WAIT_MS;
  private _changed = new Signal<ICourseModel, void>(this);
  private _completed = new Signal<ICourseModel, string[]>(this);
}
