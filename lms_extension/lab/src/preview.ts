/** An editor's preview of an unpublished ref: a banner across the top of JupyterLab. */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ITranslator } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { ICourseModel } from './model';
import { DOMAIN, ICourseModelToken, PLUGIN } from './tokens';

export const PREVIEW_BANNER_ID = 'lms-preview-banner';

/** '<ref>@<commit>' as its ref and short commit. */
export function previewParts(preview: string): { ref: string; commit: string } {
  const at = preview.lastIndexOf('@');
  return at < 0
    ? { ref: preview, commit: '' }
    : { ref: preview.slice(0, at), commit: preview.slice(at + 1, at + 13) };
}

export const previewPlugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN.preview,
  description: 'Marks an editor\'s preview of an unpublished branch.',
  autoStart: true,
  requires: [ICourseModelToken, ITranslator],
  activate: (app: JupyterFrontEnd, model: ICourseModel, translator: ITranslator) => {
    const trans = translator.load(DOMAIN);
    void model.ready.then(() => {
      const preview = model.context?.preview;
      if (!preview) {
        return;
      }
      const { ref, commit } = previewParts(preview);
      const banner = new Widget();
      banner.id = PREVIEW_BANNER_ID;
      banner.addClass('lms-PreviewBanner');
      banner.node.setAttribute('role', 'status');
      banner.node.textContent = trans.__(
        'Preview of %1 (commit %2): not published, progress is not recorded.',
        ref,
        commit
      );
      const style = banner.node.style;
      style.background = 'var(--jp-warn-color0, #f57c00)';
      style.color = 'var(--jp-ui-inverse-font-color0, #fff)';
      style.fontWeight = 'bold';
      style.padding = '4px 12px';
      style.minHeight = '24px';
      app.shell.add(banner, 'top', { rank: 1000 });
    });
  }
};
