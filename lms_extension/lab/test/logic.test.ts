import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import {
  answerProblems,
  cleanAnswers,
  courseProgress,
  dueReminders,
  findLesson,
  dueInDays,
  formatDue,
  ILesson,
  IOutline,
  ISurvey,
  lessonForPath,
  neighbours,
  newlyCompleted,
  parseEventStream,
  progressPercent,
  secondsUntilCull,
  versionProblem
} from '../src/logic';

const lesson = (slug: string, status?: string, extra = {}) => ({
  slug,
  title: slug.toUpperCase(),
  environment: 'python',
  completion: { rule: 'executed' as const, fraction: 1 },
  notebooks: [`c/${slug}/a.ipynb`, `c/${slug}/b.ipynb`],
  status: status as never,
  ...extra
});

const outline = (statuses: Record<string, string> = {}): IOutline => ({
  courses: [
    { slug: 'c', title: 'C', lessons: ['one', 'two', 'three'].map(s => lesson(s, statuses[s], { code_cells: 4, cells_ok: 1 })) }
  ]
});

test('a notebook path finds its lesson, with or without a leading slash', () => {
  const o = outline();
  assert.equal(lessonForPath(o, 'c/two/b.ipynb')?.lesson.slug, 'two');
  assert.equal(lessonForPath(o, '/c/three/a.ipynb')?.index, 2);
  assert.equal(lessonForPath(o, 'c/two/other.ipynb'), null);
  assert.equal(findLesson(o, 'c', 'nope'), null);
});

test('prev and next follow course order and stop at both ends', () => {
  const o = outline();
  const first = findLesson(o, 'c', 'one')!;
  const last = findLesson(o, 'c', 'three')!;
  assert.equal(neighbours(first).prev, null);
  assert.equal(neighbours(first).next?.lesson.slug, 'two');
  assert.equal(neighbours(last).prev?.lesson.slug, 'two');
  assert.equal(neighbours(last).next, null);
});

test('progress counts cells run without error; completed is 100%', () => {
  assert.equal(progressPercent(lesson('x', 'in_progress', { code_cells: 4, cells_ok: 1 })), 25);
  assert.equal(progressPercent(lesson('x', 'completed', { code_cells: 4, cells_ok: 1 })), 100);
  assert.equal(progressPercent(lesson('x', undefined, { code_cells: 0 })), 0);
  assert.equal(progressPercent(lesson('x', 'in_progress', { code_cells: 2, cells_ok: 5 })), 100);
  assert.equal(courseProgress(outline({ one: 'completed', two: 'delayed' }).courses[0]), 33);
});

test('lessons that just turned completed are found, not those completed before', () => {
  const before = outline({ one: 'completed', two: 'in_progress' });
  const after = outline({ one: 'completed', two: 'completed', three: 'completed' });
  assert.deepEqual(newlyCompleted(before, after), ['c/two', 'c/three']);
  assert.deepEqual(newlyCompleted(null, after), []);
});

test('due dates show as days; nonsense shows nothing', () => {
  assert.equal(formatDue('2026-12-01T23:00:00+00:00'), '2026-12-01');
  assert.equal(formatDue('soon'), '');
  assert.equal(formatDue(null), '');
});

test('a lesson due within the window counts the calendar days left; done or late ones none', () => {
  const lesson = (due: string | null, status?: ILesson['status']): ILesson => ({
    slug: 'l',
    title: 'L',
    environment: 'python',
    due,
    status,
    completion: { rule: 'executed', fraction: 1 },
    notebooks: []
  });
  const now = new Date(2026, 10, 24, 9, 0);
  const at = (day: number, hour: number): string => new Date(2026, 10, day, hour, 0).toISOString();
  assert.equal(dueInDays(lesson(at(24, 23)), now), 0);
  assert.equal(dueInDays(lesson(at(25, 1)), now), 1);
  assert.equal(dueInDays(lesson(at(26, 20), 'in_progress'), now), 2);
  assert.equal(dueInDays(lesson(at(28, 8)), now), null); // beyond three days
  assert.equal(dueInDays(lesson(at(28, 8)), now, 5), 4);
  assert.equal(dueInDays(lesson(at(24, 8)), now), null); // already past
  assert.equal(dueInDays(lesson(at(25, 8), 'completed'), now), null);
  assert.equal(dueInDays(lesson(at(25, 8), 'delayed'), now), null);
  assert.equal(dueInDays(lesson(null), now), null);
});

test('the version handshake names both versions on a mismatch', () => {
  assert.equal(versionProblem('0.1.0', '0.1.0'), '');
  assert.match(versionProblem('0.1.0', '0.2.0'), /labextension 0\.1\.0 and server extension 0\.2\.0 differ/);
  assert.match(versionProblem('0.1.0', undefined), /did not answer/);
});

test('the idle warning starts shortly before the cull, never without a timeout', () => {
  const last = new Date('2026-11-24T10:00:00Z');
  const at = (s: number) => new Date(last.getTime() + s * 1000);
  assert.equal(secondsUntilCull(last, at(100), 3600, 300), null);
  assert.equal(secondsUntilCull(last, at(3400), 3600, 300), 200);
  assert.equal(secondsUntilCull(last, at(4000), 3600, 300), 0);
  assert.equal(secondsUntilCull(last, at(99999), 0, 300), null);
});

test('event streams are split into complete events; a partial one waits', () => {
  const chunk = 'data: {"progress": 10}\n\n:keepalive\n\ndata: {"ready": true, "url": "/u/"}\n\ndata: {"prog';
  const { events, rest } = parseEventStream(chunk);
  assert.deepEqual(events, [{ progress: 10 }, { ready: true, url: '/u/' }]);
  assert.equal(rest, 'data: {"prog');
});

const survey: ISurvey = {
  title: 'S',
  questions: [
    { id: 'rate', text: 'Rate', type: 'rating', required: true, scale: 5 },
    { id: 'pick', text: 'Pick', type: 'multiple', options: ['a', 'b'] },
    { id: 'say', text: 'Say', type: 'text', max_length: 5 }
  ]
};

test('survey answers: required questions and text length are checked, empty ones dropped', () => {
  assert.deepEqual(answerProblems(survey, {}), { missing: ['rate'], tooLong: [] });
  assert.deepEqual(answerProblems(survey, { rate: 3, say: 'too long' }), { missing: [], tooLong: ['say'] });
  assert.deepEqual(cleanAnswers({ rate: 3, pick: [], say: '' }), { rate: 3 });
});

test('postponed surveys come back once their time is due', () => {
  assert.deepEqual(dueReminders({ 'c/one': 100, 'c/two': 300 }, 200), ['c/one']);
});
