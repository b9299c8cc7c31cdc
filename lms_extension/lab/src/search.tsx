/** Course search at the top of the course sidebar: lesson titles and notebook text. */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { NotebookPanel } from '@jupyterlab/notebook';
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { requestAPI } from './api';
import { COMMANDS } from './tokens';

/** Wait this long after the last key before asking the server. */
const TYPING_PAUSE_MS = 200;
const MAX_QUERY_CHARS = 200;
const HITS_SHOWN = 20;

/** One hit of `GET /lms/api/search` (the LMS service's `api/search`). */
export interface ISearchHit {
  key: string;
  course: string;
  lesson: string;
  title: string;
  titles: Record<string, string>;
  /** Relative to the course folder. */
  notebook: string;
  cell: number | null;
  cell_id: string | null;
  kind: 'title' | 'markdown' | 'code';
  snippet: string;
  /** Where the match is in `snippet`: [start, end], or empty. */
  highlight: number[];
}

export interface ISearchAnswer {
  version: string | null;
  query: string;
  results: ISearchHit[];
}

/** A course text in the interface's language (`ko-KR` → `ko`), else the default one. */
export function localizedTitle(hit: ISearchHit, language: string): string {
  const primary = language.split(/[-_]/)[0].toLowerCase();
  return hit.titles?.[primary] || hit.title;
}

function Snippet(props: { hit: ISearchHit }): JSX.Element {
  const { snippet, highlight } = props.hit;
  if (highlight?.length !== 2) {
    return <span className="lms-Search-snippet">{snippet}</span>;
  }
  const [start, end] = highlight;
  return (
    <span className="lms-Search-snippet">
      {snippet.slice(0, start)}
      <mark>{snippet.slice(start, end)}</mark>
      {snippet.slice(end)}
    </span>
  );
}

/** Open the hit's notebook (in another server when the lesson needs another environment) and,
 * when it opened here, go to the cell of the hit. */
async function openHit(app: JupyterFrontEnd, hit: ISearchHit): Promise<void> {
  const widget = await app.commands.execute(COMMANDS.openLesson, {
    course: hit.course,
    lesson: hit.lesson,
    notebook: `${hit.course}/${hit.notebook}`
  });
  if (!(widget instanceof NotebookPanel) || hit.cell === null) {
    return;
  }
  await widget.context.ready;
  const notebook = widget.content;
  const byId = notebook.widgets.findIndex(cell => cell.model.id === hit.cell_id);
  const index = byId >= 0 ? byId : Math.min(hit.cell, notebook.widgets.length - 1);
  if (index >= 0) {
    notebook.activeCellIndex = index;
    if (notebook.activeCell) {
      void notebook.scrollToCell(notebook.activeCell, 'center');
    }
  }
}

export interface ICourseSearchProps {
  app: JupyterFrontEnd;
  trans: TranslationBundle;
  /** The interface's language code (e.g. `ko-KR`), for lesson titles in several languages. */
  language: string;
}

/** The search box and its hits. */
export function CourseSearch(props: ICourseSearchProps): JSX.Element {
  const { app, trans, language } = props;
  const [query, setQuery] = React.useState('');
  const [answer, setAnswer] = React.useState<ISearchAnswer | null>(null);
  const [error, setError] = React.useState('');

  React.useEffect(() => {
    const q = query.trim();
    if (!q) {
      setAnswer(null);
      setError('');
      return;
    }
    let current = true;
    const timer = window.setTimeout(async () => {
      try {
        const params = new URLSearchParams({ q, limit: String(HITS_SHOWN) });
        const found = await requestAPI<ISearchAnswer>(`search?${params}`);
        if (current) {
          setAnswer(found);
          setError('');
        }
      } catch (reason) {
        if (current) {
          setAnswer(null);
          setError(trans.__('The course cannot be searched: %1', (reason as Error).message ?? String(reason)));
        }
      }
    }, TYPING_PAUSE_MS);
    return () => {
      current = false;
      window.clearTimeout(timer);
    };
  }, [query]);

  return (
    <div className="lms-Search" role="search">
      <input
        className="lms-Search-input jp-mod-styled"
        type="search"
        value={query}
        maxLength={MAX_QUERY_CHARS}
        placeholder={trans.__('Search the course')}
        aria-label={trans.__('Search the course')}
        onChange={event => setQuery(event.target.value)}
        onKeyDown={event => {
          if (event.key === 'Escape') {
            setQuery('');
          }
        }}
      />
      {error && <div className="lms-Notice lms-Notice-error">{error}</div>}
      {answer && query.trim() && (
        <ul className="lms-Search-results" aria-label={trans.__('Search results')}>
          {answer.results.length === 0 && (
            <li className="lms-Search-none">{trans.__('Nothing in the course matches “%1”.', answer.query)}</li>
          )}
          {answer.results.map(hit => (
            <li key={`${hit.key}/${hit.notebook}/${hit.cell ?? 'title'}`}>
              <button
                className="lms-Search-hit"
                data-lesson={hit.key}
                data-kind={hit.kind}
                onClick={() => void openHit(app, hit)}
                title={trans.__('Open %1', localizedTitle(hit, language))}
              >
                <span className="lms-Search-title">{localizedTitle(hit, language)}</span>
                {hit.kind !== 'title' && <Snippet hit={hit} />}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
