/** The course platform's JupyterLab extension: one plugin per feature around a shared model. */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';

import { capturePlugin } from './capture';
import { CourseModel, ICourseModel } from './model';
import { navigationPlugin } from './navigation';
import { noticesPlugin } from './notices';
import { sidebarPlugin } from './sidebar';
import { surveyPlugin } from './survey';
import { switcherPlugin } from './switcher';
import { ICourseModelToken, PLUGIN } from './tokens';

const modelPlugin: JupyterFrontEndPlugin<ICourseModel> = {
  id: PLUGIN.model,
  description: 'The course outline and lesson context from the server extension.',
  autoStart: true,
  provides: ICourseModelToken,
  activate: (_app: JupyterFrontEnd): ICourseModel => new CourseModel(window.localStorage)
};

export default [
  modelPlugin,
  sidebarPlugin,
  navigationPlugin,
  capturePlugin,
  surveyPlugin,
  switcherPlugin,
  noticesPlugin
] as JupyterFrontEndPlugin<unknown>[];
