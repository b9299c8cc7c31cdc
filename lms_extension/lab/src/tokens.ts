/** Plugin ids, command ids and the shared course model token. */
import { Token } from '@lumino/coreutils';
import type { ICourseModel } from './model';

/** Must equal the Python package's version (the server extension checks the same). */
export const EXTENSION_VERSION = '0.1.0';

/** The gettext domain of this extension's texts (lms_extension/locale/<locale>/LC_MESSAGES). */
export const DOMAIN = 'lms_course';

export const PLUGIN = {
  model: '@lms-platform/course:model',
  sidebar: '@lms-platform/course:sidebar',
  navigation: '@lms-platform/course:navigation',
  capture: '@lms-platform/course:capture',
  survey: '@lms-platform/course:survey',
  switcher: '@lms-platform/course:switcher',
  notices: '@lms-platform/course:notices',
  preview: '@lms-platform/course:preview',
  checks: '@lms-platform/course:checks'
} as const;

export const COMMANDS = {
  openLesson: 'lms-course:open-lesson',
  previous: 'lms-course:previous-lesson',
  next: 'lms-course:next-lesson',
  markComplete: 'lms-course:mark-complete',
  survey: 'lms-course:survey',
  update: 'lms-course:update-content',
  checks: 'lms-course:knowledge-check'
} as const;

export const ICourseModelToken = new Token<ICourseModel>(
  PLUGIN.model,
  'The course outline, the lesson context of this server, and learner events.'
);
