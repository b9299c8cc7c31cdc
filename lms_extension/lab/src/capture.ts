/** Progress capture: lesson opened and every cell run (success or error) of lesson notebooks. */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';

import { ICourseModel } from './model';
import { ICourseModelToken, PLUGIN } from './tokens';

export const capturePlugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN.capture,
  description: 'Reports lesson openings and cell executions to the server extension.',
  autoStart: true,
  requires: [ICourseModelToken, INotebookTracker],
  activate: (app: JupyterFrontEnd, model: ICourseModel, tracker: INotebookTracker) => {
    const opened = new WeakSet<NotebookPanel>();
    const onOpen = async (panel: NotebookPanel) => {
      await Promise.all([model.ready, panel.context.ready]);
      const ref = model.lessonForPath(panel.context.path);
      if (ref && !opened.has(panel)) {
        opened.add(panel);
        model.record('lesson_opened', ref, { notebook: panel.context.path });
      }
    };
    tracker.widgetAdded.connect((_, panel) => void onOpen(panel));
    tracker.forEach(panel => void onOpen(panel));

    NotebookActions.executed.connect((_, { notebook, cell, success }) => {
      if (cell.model.type !== 'code') {
        return;
      }
      const panel = tracker.find(p => p.content === notebook);
      const path = panel?.context.path ?? '';
      const ref = path ? model.lessonForPath(path) : null;
      if (ref) {
        model.record('cell_executed', ref, { notebook: path, cell_id: cell.model.id, ok: success });
      }
    });
    // a page being closed: hand over what is pending while the page still can
    window.addEventListener('pagehide', () => void model.flush());
  }
};
