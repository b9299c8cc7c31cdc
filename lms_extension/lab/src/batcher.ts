/**
 * Learner events on their way to the server extension: batched, kept in the browser's
 * storage until the server extension has taken them (it queues them durably and forwards
 * them to the LMS service), and resent with back-off when it cannot be reached. Event ids
 * make a resend harmless.
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

/** Where unsent events wait (the browser's localStorage in the lab; a Map in tests). */
export interface IEventStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export type Sender = (events: ILearnerEvent[]) => Promise<void>;

export interface IBatcherOptions {
  send: Sender;
  store: IEventStore;
  storeKey?: string;
  maxBatch?: number;
  /** Milliseconds a new event waits for others before a batch goes. */
  delay?: number;
  /** Back-off after a failed send: first and largest wait, in milliseconds. */
  retryMin?: number;
  retryMax?: number;
  schedule?: (fn: () => void, ms: number) => unknown;
}

export class EventBatcher {
  constructor(options: IBatcherOptions) {
    this._send = options.send;
    this._store = options.store;
    this._key = options.storeKey ?? 'lms-course:pending-events';
    this._maxBatch = options.maxBatch ?? 100;
    this._delay = options.delay ?? 1500;
    this._retryMin = options.retryMin ?? 2000;
    this._retryMax = options.retryMax ?? 60000;
    this._schedule = options.schedule ?? ((fn, ms) => setTimeout(fn, ms));
    this._retry = this._retryMin;
  }

  /** Events not yet taken by the server extension. */
  get pending(): ILearnerEvent[] {
    try {
      const parsed = JSON.parse(this._store.getItem(this._key) ?? '[]');
      return Array.isArray(parsed) ? parsed : [];
    } catch {
      return [];
    }
  }

  add(event: ILearnerEvent): void {
    this._save([...this.pending, event]);
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
    let pending = this.pending;
    while (pending.length) {
      const batch = pending.slice(0, this._maxBatch);
      try {
        await this._send(batch);
      } catch {
        this._later(this._retry);
        this._retry = Math.min(this._retry * 2, this._retryMax);
        return false;
      }
      this._retry = this._retryMin;
      const sent = new Set(batch.map(e => e.id));
      // events added meanwhile stay
      pending = this.pending.filter(e => !sent.has(e.id));
      this._save(pending);
    }
    return true;
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
  private _delay: number;
  private _retryMin: number;
  private _retryMax: number;
  private _retry: number;
  private _schedule: (fn: () => void, ms: number) => unknown;
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
