/**
 * Notices to the learner: a version mismatch between the two halves of this extension, new
 * course content (with an update button), someone else using this server, and this server
 * about to be stopped for being idle.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';

import { postAPI, requestAPI } from './api';
import { secondsUntilCull, versionProblem } from './logic';
import { ICourseModel, IUpdateReport } from './model';
import { COMMANDS, DOMAIN, EXTENSION_VERSION, ICourseModelToken, PLUGIN } from './tokens';

const UPDATE_POLL_MS = 120 * 1000;
const ACCESS_POLL_MS = 60 * 1000;
const IDLE_POLL_MS = 30 * 1000;
/** The first look at updates and visits waits this long after JupyterLab is up, so that the
 * git fetch and the hub call it makes stay off the way of the lesson notebook and its kernel. */
const FIRST_CHECK_MS = 5 * 1000;
const SEEN_ACCESS_KEY = 'lms-course:access-seen';
const SKIPPED_UPDATE_KEY = 'lms-course:update-skipped';

interface IUpdateInfo {
  available: boolean;
  current: string;
  latest: string;
  changed: string[];
}

interface IAccess {
  owner: string;
  // the hub's record of visits by others, oldest first (times in seconds since the epoch)
  visits: { who: string; server: string; at: number; last_seen: number; seconds: number }[];
}

function short(version: string): string {
  return version.slice(0, 7);
}

function watchUpdates(app: JupyterFrontEnd, trans: TranslationBundle, palette: ICommandPalette | null): void {
  let shownFor = '';
  const describe = (report: IUpdateReport): string => {
    if (report.error) {
      return trans.__('The update failed: %1', report.error);
    }
    const lines = [trans.__('Course content updated to version %1.', short(report.to_version))];
    for (const c of report.conflicts) {
      lines.push(trans.__('%1 was changed by you and by the course; your copy is kept as %2.', c.path, c.kept_as));
    }
    return lines.join(' ');
  };
  app.commands.addCommand(COMMANDS.update, {
    label: trans.__('Update course content'),
    execute: async () => {
      const id = Notification.emit(trans.__('Updating course content…'), 'in-progress', { autoClose: false });
      try {
        const report = await postAPI<IUpdateReport>('update', {});
        Notification.update({
          id,
          message: describe(report),
          type: report.error ? 'error' : report.conflicts.length ? 'warning' : 'success',
          autoClose: report.conflicts.length || report.error ? false : 6000
        });
      } catch (error) {
        Notification.update({ id, message: trans.__('The update failed: %1', String(error)), type: 'error', autoClose: false });
      }
    }
  });
  palette?.addItem({ command: COMMANDS.update, category: trans.__('Course') });
  const check = async () => {
    let info: IUpdateInfo;
    try {
      info = await requestAPI<IUpdateInfo>('update', {}, false);
    } catch {
      return;
    }
    if (!info.available || info.latest === shownFor || localStorage.getItem(SKIPPED_UPDATE_KEY) === info.latest) {
      return;
    }
    shownFor = info.latest;
    const changed = info.changed.slice(0, 5).join(', ') + (info.changed.length > 5 ? ', …' : '');
    Notification.info(
      trans.__('New course content (version %1). Changed: %2', short(info.latest), changed || trans.__('no lesson files')),
      {
        autoClose: false,
        actions: [
          { label: trans.__('Update'), callback: () => void app.commands.execute(COMMANDS.update) },
          { label: trans.__('Not now'), callback: () => localStorage.setItem(SKIPPED_UPDATE_KEY, info.latest) }
        ]
      }
    );
  };
  setTimeout(() => void check(), FIRST_CHECK_MS);
  setInterval(() => void check(), UPDATE_POLL_MS);
}

function watchAccess(trans: TranslationBundle): void {
  const check = async () => {
    let access: IAccess;
    try {
      access = await requestAPI<IAccess>('access', {}, false);
    } catch {
      return;
    }
    const seen = Number(localStorage.getItem(SEEN_ACCESS_KEY) ?? '0');
    const fresh = access.visits.filter(v => v.at > seen);
    if (!fresh.length) {
      return;
    }
    localStorage.setItem(SEEN_ACCESS_KEY, String(Math.max(...fresh.map(v => v.at))));
    for (const visit of fresh) {
      const when = new Date(visit.at * 1000).toLocaleString();
      const minutes = String(Math.max(1, Math.round(visit.seconds / 60)));
      Notification.warning(trans.__('%1 opened your server at %2 (about %3 min).', visit.who, when, minutes), {
        autoClose: false
      });
    }
  };
  setTimeout(() => void check(), FIRST_CHECK_MS);
  setInterval(() => void check(), ACCESS_POLL_MS);
}

function watchIdle(timeout: number, trans: TranslationBundle): void {
  if (!timeout) {
    return;
  }
  const warnBefore = Math.min(300, Math.max(30, timeout / 4));
  const every = Math.min(IDLE_POLL_MS, (warnBefore * 1000) / 3);
  let id = '';
  const check = async () => {
    const settings = ServerConnection.makeSettings();
    let lastActivity: Date;
    try {
      const url = URLExt.join(settings.baseUrl, 'api', 'status') + '?no_track_activity=1';
      const response = await ServerConnection.makeRequest(url, {}, settings);
      lastActivity = new Date((await response.json()).last_activity);
    } catch {
      return;
    }
    const left = secondsUntilCull(lastActivity, new Date(), timeout, warnBefore);
    if (left === null) {
      if (id) {
        Notification.dismiss(id);
        id = '';
      }
      return;
    }
    const message = trans.__(
      'This server has been idle and will be stopped in about %1 minute(s). Save your work, or keep working to keep it running.',
      Math.max(1, Math.ceil(left / 60))
    );
    const actions = [
      {
        label: trans.__('Keep working'),
        // counts as activity here, and the hub (whose culler decides) hears it at once
        callback: () => void postAPI('activity', {}).catch(() => undefined)
      }
    ];
    if (id && Notification.update({ id, message, type: 'warning', actions })) {
      return;
    }
    id = Notification.warning(message, { autoClose: false, actions });
  };
  setInterval(() => void check(), every);
}

export const noticesPlugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN.notices,
  description: 'Version check, content updates, access and idle-culling notices.',
  autoStart: true,
  requires: [ICourseModelToken, ITranslator],
  optional: [ICommandPalette],
  activate: (app: JupyterFrontEnd, model: ICourseModel, translator: ITranslator, palette: ICommandPalette | null) => {
    const trans = translator.load(DOMAIN);
    void model.ready.then(() => {
      const problem = versionProblem(EXTENSION_VERSION, model.context?.version);
      if (problem) {
        Notification.error(trans.__('Course extension: %1', problem), { autoClose: false });
        return;
      }
      watchUpdates(app, trans, palette);
      watchAccess(trans);
      watchIdle(model.context?.idle_timeout ?? 0, trans);
    });
  }
};
