/** The course platform's JupyterLab extension: one plugin per feature around a shared model. */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ITranslator } from '@jupyterlab/translation';

import { capturePlugin } from './capture';
import { checksPlugin } from './checks';
import { languageOf } from './localize';
import { CourseModel, ICourseModel } from './model';
import { navigationPlugin } from './navigation';
import { noticesPlugin } from './notices';
import { previewPlugin } from './preview';
import { sidebarPlugin } from './sidebar';
import { surveyPlugin } from './survey';
import { switcherPlugin } from './switcher';
import { ICourseModelToken, PLUGIN } from './tokens';

const modelPlugin: JupyterFrontEndPlugin<ICourseModel> = {
  id: PLUGIN.model,
  description: 'The course outline and lesson context from the server extension.',
  autoStart: true,
  provides: ICourseModelToken,
  requires: [ITranslator],
  activate: (_app: JupyterFrontEnd, translator: ITranslator): ICourseModel =>
    new CourseModel(window.localStorage, languageOf(translator))
};

export default [
  modelPlugin,
  sidebarPlugin,
  navigationPlugin,
  capturePlugin,
  surveyPlugin,
  switcherPlugin,
  noticesPlugin,
  previewPlugin,
  checksPlugin
] as JupyterFrontEndPlugin<unknown>[];
