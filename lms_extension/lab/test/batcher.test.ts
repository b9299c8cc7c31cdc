import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { EventBatcher, ILearnerEvent, newEventId } from '../src/batcher';

class MemoryStore {
  data = new Map<string, string>();
  getItem(key: string) {
    return this.data.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    this.data.set(key, value);
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
    }
  });
  [1, 2, 3].forEach(n => batcher.add(event(n)));
  assert.deepEqual(timers.map(t => t.ms), [1500]); // one batch timer for the three
  await fire(); // fails: retry after 2 s
  await fire(); // fails: retry after 4 s
  assert.deepEqual(timers.map(t => t.ms), [4000]);
  assert.equal(batcher.pending.length, 3);
  // a second batcher on the same storage (a reloaded page) finds them
  const reloaded = new EventBatcher({ store, schedule: () => 0, send: async () => undefined });
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
      new Promise<void>(resolve => {
        sent.push(...events.map(e => e.id));
        release = resolve;
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
