/**
 * Opening a lesson: in this server when it runs in this server's environment, otherwise in
 * another named server of the learner (started through the hub, with its start progress shown).
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { ServerConnection } from '@jupyterlab/services';
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';

import { apiUrl, postAPI } from './api';
import { ILessonRef, parseEventStream } from './logic';
import { ICourseModel } from './model';
import { COMMANDS, DOMAIN, ICourseModelToken, PLUGIN } from './tokens';

interface IStarted {
  server_name: string;
  url: string;
  ready: boolean;
}

interface IProgressEvent {
  progress?: number;
  message?: string;
  ready?: boolean;
  failed?: boolean;
  url?: string;
}

/** Follow the hub's start progress of `server` (through the server extension). */
async function followProgress(server: string, onEvent: (event: IProgressEvent) => void): Promise<IProgressEvent> {
  const settings = ServerConnection.makeSettings();
  const response = await ServerConnection.makeRequest(apiUrl(`servers/${encodeURIComponent(server)}/progress`), {}, settings);
  if (!response.ok || !response.body) {
    throw new Error(`${response.status} ${response.statusText}`);
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let last: IProgressEvent = {};
  for (;;) {
    const { value, done } = await reader.read();
    if (done) {
      return last;
    }
    buffer += decoder.decode(value, { stream: true });
    const parsed = parseEventStream(buffer);
    buffer = parsed.rest;
    for (const event of parsed.events as IProgressEvent[]) {
      last = event;
      onEvent(event);
      if (event.ready || event.failed) {
        void reader.cancel();
        return event;
      }
    }
  }
}

async function openElsewhere(ref: ILessonRef, notebook: string, trans: TranslationBundle): Promise<void> {
  const env = ref.lesson.environment;
  const choice = await showDialog({
    title: trans.__('Open “%1”', ref.lesson.title),
    body: trans.__(
      'This lesson runs in the “%1” environment, on another server of yours. Start it and open the lesson there? Your files are shared between your servers.',
      env
    ),
    buttons: [Dialog.cancelButton({ label: trans.__('Cancel') }), Dialog.okButton({ label: trans.__('Start') })]
  });
  if (!choice.button.accept) {
    return;
  }
  const id = Notification.emit(trans.__('Starting the “%1” environment…', env), 'in-progress', {
    autoClose: false,
    progress: 0
  });
  try {
    const started = await postAPI<IStarted>('servers', { lesson: `${ref.course.slug}/${ref.lesson.slug}` });
    let final: IProgressEvent = { ready: started.ready };
    if (!started.ready) {
      final = await followProgress(started.server_name, event =>
        Notification.update({
          id,
          message: event.message || trans.__('Starting the “%1” environment…', env),
          type: 'in-progress',
          progress: (event.progress ?? 0) / 100
        })
      );
    }
    if (!final.ready) {
      throw new Error(final.message || trans.__('the server did not start'));
    }
    Notification.update({ id, message: trans.__('Opening “%1”…', ref.lesson.title), type: 'success', progress: 1 });
    window.location.assign(`${started.url.replace(/\/?$/, '/')}lab/tree/${notebook}`);
  } catch (error) {
    Notification.update({
      id,
      message: trans.__('The “%1” environment could not be started: %2', env, String((error as Error).message ?? error)),
      type: 'error',
      autoClose: false
    });
  }
}

export const switcherPlugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN.switcher,
  description: 'Opens lessons, starting another named server when a lesson needs another environment.',
  autoStart: true,
  requires: [ICourseModelToken, ITranslator],
  activate: (app: JupyterFrontEnd, model: ICourseModel, translator: ITranslator) => {
    const trans = translator.load(DOMAIN);
    app.commands.addCommand(COMMANDS.openLesson, {
      label: trans.__('Open lesson'),
      execute: async args => {
        await model.ready;
        const ref = model.findLesson(String(args.course), String(args.lesson));
        if (!ref) {
          Notification.error(trans.__('Unknown lesson %1/%2', String(args.course), String(args.lesson)), {
            autoClose: 6000
          });
          return;
        }
        const notebook = typeof args.notebook === 'string' ? args.notebook : ref.lesson.notebooks[0];
        const here = model.context?.environment;
        if (here && ref.lesson.environment !== here) {
          return openElsewhere(ref, notebook, trans);
        }
        return app.commands.execute('docmanager:open', { path: notebook });
      }
    });
  }
};
