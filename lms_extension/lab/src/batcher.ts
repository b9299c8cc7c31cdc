/**
 * Learner events on their way to the server extension: batched, kept in the browser's
 * storage until the server extension has answered for them, and resent with back-off when it
 * cannot be reached. Event ids make a resend harmless.
 *
 * The server extension answers each batch event by event (the LMS service's protocol): the
 * `taken` ids leave the storage, and so do the `refused` events (counted and reported through
 * `onRefused`) unless a refusal says `retry`. A batch refused as a whole (HTTP 413 or 400) is
 * split until the event at fault stands alone, and that one is dropped: one bad event never
 * holds up the rest.
 */

export type EventKind = 'lesson_opened' | 'cell_executed' | 'lesson_completed' | 'survey_submitted';

export interface ILearnerEvent {
  id: string;
  kind: EventKind;
  course: string;
  lesson: string;
  at: string;
  notebook?: string;
  cell_id?: string;
  ok?: boolean;
  active_seconds?: number;
  answers?: Record<string, unknown>;
}

/** One event the server extension did not take. */
export interface IRefusal {
  /** Position of the event in the batch. */
  index: number;
  id?: string | null;
  /** The field at fault, e.g. `events.3.notebook`. */
  field: string;
  reason: string;
  /** True: a temporary refusal, send the event again later; false: never. */
  retry: boolean;
}

/** The server extension's answer to a batch. */
export interface IBatchResult {
  taken: string[];
  refused: IRefusal[];
  retry_after?: number | null;
}

/** What one batch may hold (the server extension's `/lms/api/context` says). */
export interface IEventLimits {
  max_body_bytes: number;
  max_events_per_batch: number;
  /** Longer notebook paths are left out of the events. */
  notebook_max_length: number;
}

export const DEFAULT_LIMITS: IEventLimits = {
  max_body_bytes: 262144,
  max_events_per_batch: 500,
  notebook_max_length: 1024
};

/** Where unsent events wait (the browser's localStorage in the lab; a Map in tests). */
export interface IEventStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/** Sends a batch; rejects with an error carrying the HTTP `status` when there is one. */
export type Sender = (events: ILearnerEvent[]) => Promise<IBatchResult>;

export interface IBatcherOptions {
  send: Sender;
  store: IEventStore;
  storeKey?: string;
  maxBatch?: number;
  limits?: Partial<IEventLimits>;
  /** Milliseconds a new event waits for others before a batch goes. */
  delay?: number;
  /** Back-off after a failed send: first and largest wait, in milliseconds. */
  retryMin?: number;
  retryMax?: number;
  schedule?: (fn: () => void, ms: number) => unknown;
  /** Told of every event dropped as refused. */
  onRefused?: (event: ILearnerEvent, refusal: IRefusal) => void;
}

const ENVELOPE_BYTES = '{"events":[]}'.length;
const encoder = new TextEncoder();

/** An event as it may be sent: a notebook path over the limit is left out (the path is for
 * information only; the event still counts). */
export function fitEvent(event: ILearnerEvent, limits: IEventLimits): ILearnerEvent {
  if (event.notebook === undefined || event.notebook.length <= limits.notebook_max_length) {
    return event;
  }
  const fitted = { ...event };
  delete fitted.notebook;
  return fitted;
}

/** The longest head of `events` that fits one body: `[batch, null]`, or `[[], event]` when the
 * first event alone is larger than the limit. */
export function cutBatch(
  events: ILearnerEvent[],
  maxEvents: number,
  maxBytes: number
): [ILearnerEvent[], ILearnerEvent | null] {
  let size = ENVELOPE_BYTES;
  let count = 0;
  for (const event of events.slice(0, Math.max(1, maxEvents))) {
    const bytes = encoder.encode(JSON.stringify(event)).length + (count ? 1 : 0);
    if (size + bytes > maxBytes) {
      break;
    }
    size += bytes;
    count += 1;
  }
  return count ? [events.slice(0, count), null] : [[], events[0]];
}

function statusOf(error: unknown): number {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : 0;
}

export class EventBatcher {
  constructor(options: IBatcherOptions) {
    this._send = options.send;
    this._store = options.store;
    this._key = options.storeKey ?? 'lms-course:pending-events';
    this._maxBatch = options.maxBatch ?? 100;
    this._limits = { ...DEFAULT_LIMITS, ...options.limits };
    this._delay = options.delay ?? 1500;
    this._retryMin = options.retryMin ?? 2000;
    this._retryMax = options.retryMax ?? 60000;
    this._schedule = options.schedule ?? ((fn, ms) => setTimeout(fn, ms));
    this._onRefused = options.onRefused;
    this._retry = this._retryMin;
  }

  /** Events not yet answered for by the server extension. */
  get pending(): ILearnerEvent[] {
    try {
      const parsed = JSON.parse(this._store.getItem(this._key) ?? '[]');
      return Array.isArray(parsed)
        ? parsed.filter(e => e && typeof e === 'object' && typeof e.id === 'string')
        : [];
    } catch {
      return [];
    }
  }

  /** How many events were dropped as refused since this page loaded. */
  get refused(): number {
    return this._refused;
  }

  /** What the server extension takes in one batch. */
  setLimits(limits: Partial<IEventLimits>): void {
    this._limits = { ...this._limits, ...limits };
  }

  add(event: ILearnerEvent): void {
    this._save([...this.pending, fitEvent(event, this._limits)]);
    this._later(this._delay);
  }

  /** Send what is pending now; resolves true when nothing is left. */
  async flush(): Promise<boolean> {
    if (this._sending) {
      return this._sending;
    }
    this._sending = this._flush().finally(() => {
      this._sending = null;
    });
    return this._sending;
  }

  private async _flush(): Promise<boolean> {
    let cap = Math.min(this._maxBatch, this._limits.max_events_per_batch);
    let pending = this.pending.map(e => fitEvent(e, this._limits));
    while (pending.length) {
      const [batch, tooLarge] = cutBatch(pending, cap, this._limits.max_body_bytes);
      if (tooLarge) {
        const limit = this._limits.max_body_bytes;
        this._drop([[tooLarge, this._localRefusal(`larger than the limit of ${limit} bytes`)]]);
        pending = this.pending.map(e => fitEvent(e, this._limits));
        continue;
      }
      let answer: IBatchResult;
      try {
        answer = await this._send(batch);
      } catch (error) {
        const status = statusOf(error);
        if (status !== 400 && status !== 413) {
          this._backOff(this._retry);
          return false;
        }
        // refused as a whole: split until the event at fault stands alone
        if (batch.length === 1) {
          const reason = String((error as Error)?.message ?? error);
          this._drop([[batch[0], this._localRefusal(reason)]]);
        } else {
          cap = Math.max(1, Math.floor(batch.length / 2));
        }
        pending = this.pending.map(e => fitEvent(e, this._limits));
        continue;
      }
      this._retry = this._retryMin;
      const wait = this._settle(batch, answer);
      if (wait) {
        this._backOff(wait.ms, wait.asked);
        return false;
      }
      pending = this.pending.map(e => fitEvent(e, this._limits));
    }
    return true;
  }

  /** Take the answered events out of storage; how long to wait before the rest is sent again
   * (`asked`: the server said so), or null to go on. */
  private _settle(
    batch: ILearnerEvent[],
    answer: IBatchResult
  ): { ms: number; asked: boolean } | null {
    const byId = new Map(batch.map(e => [e.id, e]));
    const answered = new Set((answer.taken ?? []).filter(id => byId.has(id)));
    const dropped: [ILearnerEvent, IRefusal][] = [];
    let retry = false;
    for (const refusal of answer.refused ?? []) {
      const event = (refusal.id && byId.get(refusal.id)) || batch[refusal.index];
      if (!event) {
        continue;
      }
      if (refusal.retry) {
        retry = true;
      } else {
        answered.add(event.id);
        dropped.push([event, refusal]);
      }
    }
    this._drop(dropped, answered);
    if (retry) {
      return { ms: Math.max(this._retryMin, (answer.retry_after ?? 0) * 1000), asked: true };
    }
    const unanswered = batch.some(e => !answered.has(e.id));
    return unanswered ? { ms: this._retry, asked: false } : null;
  }

  /** Remove events from storage (events added meanwhile stay); report the refused ones. */
  private _drop(refused: [ILearnerEvent, IRefusal][], taken: Set<string> = new Set()): void {
    const gone = new Set([...taken, ...refused.map(([e]) => e.id)]);
    if (gone.size) {
      this._save(this.pending.filter(e => !gone.has(e.id)));
    }
    for (const [event, refusal] of refused) {
      this._refused += 1;
      this._onRefused?.(event, refusal);
    }
  }

  private _localRefusal(reason: string): IRefusal {
    return { index: 0, field: 'body', reason, retry: false };
  }

  private _backOff(ms: number, asked = false): void {
    this._later(ms);
    if (!asked) {
      this._retry = Math.min(this._retry * 2, this._retryMax);
    }
  }

  private _later(ms: number): void {
    if (this._timer) {
      return;
    }
    this._timer = true;
    this._schedule(() => {
      this._timer = false;
      void this.flush();
    }, ms);
  }

  private _save(events: ILearnerEvent[]): void {
    this._store.setItem(this._key, JSON.stringify(events));
  }

  private _send: Sender;
  private _store: IEventStore;
  private _key: string;
  private _maxBatch: number;
  private _limits: IEventLimits;
  private _delay: number;
  private _retryMin: number;
  private _retryMax: number;
  private _retry: number;
  private _refused = 0;
  private _schedule: (fn: () => void, ms: number) => unknown;
  private _onRefused?: (event: ILearnerEvent, refusal: IRefusal) => void;
  private _timer = false;
  private _sending: Promise<boolean> | null = null;
}

/** A random event id (RFC 4122 version 4). */
export function newEventId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c?.randomUUID) {
    return c.randomUUID();
  }
  const hex = [...Array(32)].map(() => Math.floor(Math.random() * 16).toString(16));
  hex[12] = '4';
  hex[16] = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  const s = hex.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}
