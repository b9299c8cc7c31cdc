/** Prev / next / mark-complete buttons in the toolbar of lesson notebooks, and the commands. */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { INotebookModel, INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ITranslator } from '@jupyterlab/translation';
import { ToolbarButton } from '@jupyterlab/ui-components';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';

import { ILessonRef, neighbours, statusOf } from './logic';
import { ICourseModel } from './model';
import { COMMANDS, DOMAIN, ICourseModelToken, PLUGIN } from './tokens';

type Step = { course: string; lesson: string; notebook?: string };

/** Where prev/next lead from `path`: the lesson's other notebooks first, then its neighbours. */
function stepFrom(ref: ILessonRef, path: string, direction: 1 | -1): Step | null {
  const notebooks = ref.lesson.notebooks;
  const at = notebooks.indexOf(path) + direction;
  if (at >= 0 && at < notebooks.length) {
    return { course: ref.course.slug, lesson: ref.lesson.slug, notebook: notebooks[at] };
  }
  const { prev, next } = neighbours(ref);
  const other = direction > 0 ? next : prev;
  return other ? { course: other.course.slug, lesson: other.lesson.slug } : null;
}

export const navigationPlugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN.navigation,
  description: 'Previous / next lesson and mark-complete buttons in lesson notebooks.',
  autoStart: true,
  requires: [ICourseModelToken, INotebookTracker, ITranslator],
  optional: [ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    model: ICourseModel,
    tracker: INotebookTracker,
    translator: ITranslator,
    palette: ICommandPalette | null
  ) => {
    const trans = translator.load(DOMAIN);
    const current = (): { ref: ILessonRef; path: string } | null => {
      const path = tracker.currentWidget?.context.path ?? '';
      const ref = path ? model.lessonForPath(path) : null;
      return ref ? { ref, path } : null;
    };
    const go = (direction: 1 | -1) => {
      const here = current();
      const step = here && stepFrom(here.ref, here.path, direction);
      if (step) {
        return app.commands.execute(COMMANDS.openLesson, step);
      }
    };
    app.commands.addCommand(COMMANDS.previous, {
      label: trans.__('Previous lesson'),
      isEnabled: () => {
        const here = current();
        return !!(here && stepFrom(here.ref, here.path, -1));
      },
      execute: () => go(-1)
    });
    app.commands.addCommand(COMMANDS.next, {
      label: trans.__('Next lesson'),
      isEnabled: () => {
        const here = current();
        return !!(here && stepFrom(here.ref, here.path, 1));
      },
      execute: () => go(1)
    });
    app.commands.addCommand(COMMANDS.markComplete, {
      label: trans.__('Mark lesson complete'),
      isEnabled: () => {
        const here = current();
        return !!here && statusOf(here.ref.lesson) !== 'completed';
      },
      execute: async () => {
        const here = current();
        if (here) {
          model.record('lesson_completed', here.ref, { notebook: here.path });
          await model.flush();
        }
      }
    });

    const category = trans.__('Course');
    for (const command of [COMMANDS.previous, COMMANDS.next, COMMANDS.markComplete]) {
      palette?.addItem({ command, category });
    }

    app.docRegistry.addWidgetExtension('Notebook', {
      createNew: (panel: NotebookPanel, context: DocumentRegistry.IContext<INotebookModel>): IDisposable => {
        const buttons: ToolbarButton[] = [];
        void model.ready.then(() => {
          if (panel.isDisposed || !model.lessonForPath(context.path)) {
            return;
          }
          const make = (name: string, command: string, label: string, tooltip: string) => {
            const button = new ToolbarButton({
              className: `lms-Nav-${name}`,
              label,
              tooltip,
              onClick: () => void app.commands.execute(command)
            });
            buttons.push(button);
            return button;
          };
          const here = () => model.lessonForPath(context.path);
          const prev = make('previous', COMMANDS.previous, `‹ ${trans.__('Previous')}`, trans.__('Previous lesson'));
          const next = make('next', COMMANDS.next, `${trans.__('Next')} ›`, trans.__('Next lesson'));
          const done = make('complete', COMMANDS.markComplete, trans.__('Mark complete'), trans.__('Mark lesson complete'));
          const sync = () => {
            const ref = here();
            prev.enabled = !!(ref && stepFrom(ref, context.path, -1));
            next.enabled = !!(ref && stepFrom(ref, context.path, 1));
            done.enabled = !!ref && statusOf(ref.lesson) !== 'completed';
            done.node.dataset.status = ref ? statusOf(ref.lesson) : '';
          };
          sync();
          model.changed.connect(sync);
          panel.disposed.connect(() => model.changed.disconnect(sync));
          panel.toolbar.insertItem(0, 'lms-previous', prev);
          panel.toolbar.insertItem(1, 'lms-next', next);
          panel.toolbar.addItem('lms-complete', done);
        });
        return new DisposableDelegate(() => buttons.forEach(b => b.dispose()));
      }
    });
  }
};
