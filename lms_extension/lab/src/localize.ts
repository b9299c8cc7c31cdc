/** Course texts in the learner's language: the course repo may give a title, a survey question
 * or a choice in several languages (`titles`, `texts`, `labels`… next to the plain text); these
 * pick the one for JupyterLab's language, else the plain (default) text. */
import { ITranslator } from '@jupyterlab/translation';

import { IOutline, ISurvey, ISurveyQuestion } from './logic';

export type Texts = Record<string, string>;

/** A survey question with the texts of its choices in the learner's language. */
export interface ILocalizedQuestion extends ISurveyQuestion {
  option_labels?: string[];
}

/** The primary language of JupyterLab's display language (`ko_KR` → `ko`). */
export function languageOf(translator: ITranslator): string {
  return (translator.languageCode || 'en').toLowerCase().split(/[-_]/)[0];
}

/** `texts[lang]` when there is one, else `fallback`. */
export function pick(texts: Texts | null | undefined, lang: string, fallback: string): string {
  const text = texts ? texts[lang] : undefined;
  return typeof text === 'string' && text ? text : fallback;
}

type WithTexts = { title: string; titles?: Texts };

function titled<T extends WithTexts>(item: T, lang: string): T {
  return { ...item, title: pick(item.titles, lang, item.title) };
}

/** The outline with course and lesson titles in `lang`. */
export function localizeOutline(outline: IOutline, lang: string): IOutline {
  return {
    ...outline,
    courses: (outline.courses ?? []).map(course => ({
      ...titled(course as typeof course & WithTexts, lang),
      lessons: course.lessons.map(lesson => titled(lesson as typeof lesson & WithTexts, lang))
    }))
  };
}

type RawQuestion = ISurveyQuestion & {
  texts?: Texts;
  low_labels?: Texts;
  high_labels?: Texts;
  labels?: Texts[];
};

/** The survey with its title, questions and choices in `lang`; answers keep the choices'
 * plain texts as their values. */
export function localizeSurvey(survey: ISurvey & { titles?: Texts }, lang: string): ISurvey {
  return {
    ...survey,
    title: pick(survey.titles, lang, survey.title),
    questions: survey.questions.map((raw: RawQuestion): ILocalizedQuestion => ({
      ...raw,
      text: pick(raw.texts, lang, raw.text),
      low_label: raw.low_label ? pick(raw.low_labels, lang, raw.low_label) : raw.low_label,
      high_label: raw.high_label ? pick(raw.high_labels, lang, raw.high_label) : raw.high_label,
      option_labels: (raw.options ?? []).map((option, i) => pick(raw.labels?.[i], lang, option))
    }))
  };
}
