import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import {
  cutBatch,
  DEFAULT_LIMITS,
  EventBatcher,
  fitEvent,
  IBatchResult,
  ILearnerEvent,
  IRefusal,
  newEventId
} from '../src/batcher';

class MemoryStore {
  data = new Map<string, string>();
  getItem(key: string) {
    return this.data.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    this.data.set(key, value);
  }
}

/** What the server extension answers when it takes every event of the batch. */
const takeAll = (events: ILearnerEvent[]): IBatchResult => ({
  taken: events.map(e => e.id),
  refused: []
});

class HttpError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

const event = (n: number): ILearnerEvent => ({
  id: `id-${n}`,
  kind: 'cell_executed',
  course: 'c',
  lesson: 'l',
  at: new Date(0).toISOString(),
  cell_id: `cell-${n}`,
  ok: true
});

test('events wait in storage while sending fails, then go once, in order', async () => {
  const store = new MemoryStore();
  const sent: string[][] = [];
  let up = false;
  const timers: { fn: () => void; ms: number }[] = [];
  const fire = async () => {
    timers.shift()!.fn();
    await new Promise(r => setTimeout(r, 0));
  };
  const batcher = new EventBatcher({
    store,
    maxBatch: 2,
    schedule: (fn, ms) => timers.push({ fn, ms }),
    send: async events => {
      if (!up) {
        throw new Error('down');
      }
      sent.push(events.map(e => e.id));
      return takeAll(events);
    }
  });
  [1, 2, 3].forEach(n => batcher.add(event(n)));
  assert.deepEqual(timers.map(t => t.ms), [1500]); // one batch timer for the three
  await fire(); // fails: retry after 2 s
  await fire(); // fails: retry after 4 s
  assert.deepEqual(timers.map(t => t.ms), [4000]);
  assert.equal(batcher.pending.length, 3);
  // a second batcher on the same storage (a reloaded page) finds them
  const reloaded = new EventBatcher({ store, schedule: () => 0, send: async e => takeAll(e) });
  assert.equal(reloaded.pending.length, 3);
  up = true;
  await fire();
  assert.deepEqual(sent, [['id-1', 'id-2'], ['id-3']]);
  assert.equal(batcher.pending.length, 0);
  assert.equal(timers.length, 0);
});

test('an event added while a batch is in flight is kept for the next one', async () => {
  const store = new MemoryStore();
  const sent: string[] = [];
  let release: () => void = () => undefined;
  const batcher = new EventBatcher({
    store,
    schedule: () => 0,
    send: events =>
      new Promise<IBatchResult>(resolve => {
        sent.push(...events.map(e => e.id));
        release = () => resolve(takeAll(events));
      })
  });
  batcher.add(event(1));
  const flushing = batcher.flush();
  batcher.add(event(2));
  release();
  await new Promise(r => setTimeout(r, 0));
  release();
  assert.equal(await flushing, true);
  assert.deepEqual(sent, ['id-1', 'id-2']);
});

test('event ids are version 4 UUIDs and differ', () => {
  const a = newEventId();
  assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(a, newEventId());
});

test('refused events leave the storage and never hold up the rest', async () => {
  const store = new MemoryStore();
  const sent: string[][] = [];
  const refused: [string, IRefusal][] = [];
  const batcher = new EventBatcher({
    store,
    schedule: () => 0,
    onRefused: (e, r) => refused.push([e.id, r]),
    send: async events => {
      sent.push(events.map(e => e.id));
      // the second event of every batch is refused, by index (no id)
      const bad = events[1];
      const refusal = { index: 1, id: null, field: 'events.1.cell_id', reason: 'long', retry: false };
      return { taken: events.filter(e => e !== bad).map(e => e.id), refused: bad ? [refusal] : [] };
    }
  });
  [1, 2, 3].forEach(n => batcher.add(event(n)));
  assert.equal(await batcher.flush(), true);
  assert.deepEqual(sent, [['id-1', 'id-2', 'id-3']]);
  assert.equal(batcher.pending.length, 0);
  assert.equal(batcher.refused, 1);
  assert.deepEqual(refused.map(([id, r]) => [id, r.field]), [['id-2', 'events.1.cell_id']]);
});

test('a temporary refusal keeps the event and waits as asked', async () => {
  const store = new MemoryStore();
  const timers: { fn: () => void; ms: number }[] = [];
  let quota = 1;
  const batcher = new EventBatcher({
    store,
    schedule: (fn, ms) => timers.push({ fn, ms }),
    send: async events => {
      const [first, ...rest] = events;
      const taken = quota-- > 0 ? [first] : [];
      const waiting = quota >= 0 ? rest : events;
      return {
        taken: taken.map(e => e.id),
        refused: waiting.map(e => ({
          index: events.indexOf(e),
          id: e.id,
          field: `events.${events.indexOf(e)}`,
          reason: 'quota',
          retry: true
        })),
        retry_after: 30
      };
    }
  });
  [1, 2].forEach(n => batcher.add(event(n)));
  timers.shift()!.fn(); // the batch goes
  assert.equal(await batcher.flush(), false);
  assert.deepEqual(batcher.pending.map(e => e.id), ['id-2']);
  assert.equal(batcher.refused, 0);
  assert.deepEqual(
    timers.map(t => t.ms),
    [30000]
  );
});

test('a batch refused as a whole is split until the bad event stands alone', async () => {
  const store = new MemoryStore();
  const sizes: number[] = [];
  const refused: string[] = [];
  const batcher = new EventBatcher({
    store,
    schedule: () => 0,
    onRefused: e => refused.push(e.id),
    send: async events => {
      sizes.push(events.length);
      if (events.some(e => e.id === 'id-5')) {
        throw new HttpError(events.length > 2 ? 413 : 400);
      }
      return takeAll(events);
    }
  });
  for (let n = 1; n <= 8; n++) {
    batcher.add(event(n));
  }
  assert.equal(await batcher.flush(), true);
  assert.equal(batcher.pending.length, 0);
  assert.deepEqual(refused, ['id-5']);
  assert.equal(sizes[0], 8);
  assert.ok(sizes.every(n => n <= 8));
});

test('other failures keep everything and back off', async () => {
  const store = new MemoryStore();
  const timers: { fn: () => void; ms: number }[] = [];
  const batcher = new EventBatcher({
    store,
    schedule: (fn, ms) => timers.push({ fn, ms }),
    send: async () => {
      throw new HttpError(503);
    }
  });
  batcher.add(event(1));
  timers.shift()!.fn();
  assert.equal(await batcher.flush(), false);
  assert.equal(await batcher.flush(), false);
  assert.equal(batcher.pending.length, 1);
  assert.equal(batcher.refused, 0);
  assert.deepEqual(
    timers.map(t => t.ms),
    [2000]
  ); // one timer at a time
});

test('batches stay under the byte and count limits', async () => {
  const store = new MemoryStore();
  const bodies: number[] = [];
  const batcher = new EventBatcher({
    store,
    schedule: () => 0,
    limits: { max_body_bytes: 1000, max_events_per_batch: 50 },
    send: async events => {
      bodies.push(new TextEncoder().encode(JSON.stringify({ events })).length);
      return takeAll(events);
    }
  });
  for (let n = 0; n < 30; n++) {
    batcher.add(event(n));
  }
  assert.equal(await batcher.flush(), true);
  assert.ok(bodies.length > 3);
  assert.ok(bodies.every(b => b <= 1000), String(bodies));
  const [batch] = cutBatch([event(1), event(2), event(3)], 2, 100000);
  assert.equal(batch.length, 2);
  const [none, alone] = cutBatch([event(1)], 10, 20);
  assert.deepEqual([none.length, alone?.id], [0, 'id-1']);
});

test('a notebook path over the limit is left out of the event', async () => {
  const long = 'course/' + 'folder/'.repeat(200) + 'lesson.ipynb';
  assert.ok(long.length > DEFAULT_LIMITS.notebook_max_length);
  const fitted = fitEvent({ ...event(1), notebook: long }, DEFAULT_LIMITS);
  assert.equal(fitted.notebook, undefined);
  assert.equal(fitted.cell_id, 'cell-1');
  const short = fitEvent({ ...event(2), notebook: 'course/a.ipynb' }, DEFAULT_LIMITS);
  assert.equal(short.notebook, 'course/a.ipynb');

  // also for events already waiting in storage from before
  const store = new MemoryStore();
  store.setItem('lms-course:pending-events', JSON.stringify([{ ...event(3), notebook: long }]));
  const sent: ILearnerEvent[] = [];
  const batcher = new EventBatcher({
    store,
    schedule: () => 0,
    limits: { notebook_max_length: 300 },
    send: async events => {
      sent.push(...events);
      return takeAll(events);
    }
  });
  batcher.add({ ...event(4), notebook: 'x'.repeat(301) });
  assert.equal(await batcher.flush(), true);
  assert.deepEqual(
    sent.map(e => [e.id, e.notebook]),
    [
      ['id-3', undefined],
      ['id-4', undefined]
    ]
  );
});

test('an event larger than a body is dropped, not sent', async () => {
  const store = new MemoryStore();
  let calls = 0;
  const refused: IRefusal[] = [];
  const batcher = new EventBatcher({
    store,
    schedule: () => 0,
    limits: { max_body_bytes: 500 },
    onRefused: (_e, r) => refused.push(r),
    send: async events => {
      calls += 1;
      return takeAll(events);
    }
  });
  batcher.add({ ...event(1), answers: { text: 'x'.repeat(600) } });
  batcher.add(event(2));
  assert.equal(await batcher.flush(), true);
  assert.equal(calls, 1);
  assert.equal(batcher.refused, 1);
  assert.match(refused[0].reason, /500 bytes/);
});
