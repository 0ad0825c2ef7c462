/**
 * Reads the examples out of a Markdown file (README.md): code blocks (indented or fenced) and
 * table cells whose whole content is one command. Used by test/readme.test.ts.
 */

export type ExampleKind =
  /** shell commands, run in the README's one terminal session */
  | 'shell'
  /** the CLI reference: `gatehouse <command> [options]` lines, checked against the CLI's --help */
  | 'synopsis'
  /** a JSON file the text names (e.g. "Example `apps.json`:"), written into the working directory */
  | 'file'
  /**
   * JSON that is not a file: a request or answer shape (an answer right after a shell example is its expected output)
   */
  | 'json';

export interface Example {
  kind: ExampleKind;
  /** 1-based line in the Markdown file */
  line: number;
  text: string;
  /** the heading it sits under */
  section: string;
  /** a table cell (one command) rather than a block */
  cell: boolean;
  /** for 'file': the file name */
  file?: string;
  /** for 'shell': the JSON block right after it, which is its documented output */
  expect?: unknown;
}

const isJson = (text: string) => /^\s*[[{]/.test(text);

/** the last `name.json` the paragraph before a block names */
function fileNamed(paragraph: string): string | undefined {
  const names = [...paragraph.matchAll(/`([\w.-]+\.json)`/g)].map((m) => m[1]);
  return names[names.length - 1];
}

/** Every code block and command cell, in order. `functions` are the shell functions defined so far. */
export function extractExamples(markdown: string): Example[] {
  const lines = markdown.split('\n');
  const out: Example[] = [];
  const functions = new Set<string>();
  let section = '';
  // the text right before a block: the paragraph it ends, or the one before the blank line
  let paragraph = '';
  let lastParagraph = '';
  let i = 0;
  const push = (e: Example) => {
    if (e.kind === 'shell') for (const m of e.text.matchAll(/^\s*([A-Za-z_][\w-]*)\s*\(\)\s*\{/gm)) functions.add(m[1]);
    out.push(e);
  };
  const block = (text: string, line: number, lang: string) => {
    const before = paragraph || lastParagraph;
    const kind: ExampleKind =
      isJson(text) || lang === 'json'
        ? fileNamed(before)
          ? 'file'
          : 'json'
        : text.split('\n').every((l) => /^gatehouse\s/.test(l))
          ? 'synopsis'
          : 'shell';
    const e: Example = {
      kind,
      line,
      text,
      section,
      cell: false,
      ...(kind === 'file' ? { file: fileNamed(before) } : {}),
    };
    // an answer shape right after a shell block, with only "answers" between, is that example's output
    const prev = out[out.length - 1];
    const between = prev
      ? lines
          .slice(prev.line - 1 + prev.text.split('\n').length, line - 1)
          .join(' ')
          .trim()
      : '';
    if (kind === 'json' && prev && prev.kind === 'shell' && !prev.cell && /^answers:?$/.test(between)) {
      prev.expect = JSON.parse(text);
    }
    push(e);
    paragraph = lastParagraph = '';
  };
  while (i < lines.length) {
    const l = lines[i];
    const fence = /^```(\w*)\s*$/.exec(l);
    if (fence) {
      const start = i + 1;
      const body: string[] = [];
      for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
      i++;
      block(body.join('\n'), start + 1, fence[1]);
      continue;
    }
    // an indented block: 4 spaces after a blank line, outside lists
    if (/^ {4}\S/.test(l) && i > 0 && lines[i - 1].trim() === '') {
      const start = i;
      const body: string[] = [];
      for (
        ;
        i < lines.length && (/^ {4}/.test(lines[i]) || (lines[i].trim() === '' && /^ {4}\S/.test(lines[i + 1] ?? '')));
        i++
      )
        body.push(lines[i].slice(4));
      block(body.join('\n'), start + 1, '');
      continue;
    }
    const heading = /^#+\s+(.*)$/.exec(l);
    if (heading) {
      section = heading[1];
      paragraph = lastParagraph = '';
    } else if (l.startsWith('|')) {
      // a cell that is one code span starting with a function defined above, or curl / npx gatehouse
      for (const cell of l.split(/(?<!\\)\|/).map((c) => c.trim())) {
        const code = /^`([^`]+)`$/.exec(cell);
        if (!code) continue;
        const first = code[1].split(/\s/)[0];
        if (functions.has(first) || first === 'curl' || code[1].startsWith('npx gatehouse ')) {
          push({ kind: 'shell', line: i + 1, text: code[1], section, cell: true });
        }
      }
    } else if (l.trim() === '') {
      if (paragraph) [lastParagraph, paragraph] = [paragraph, ''];
    } else {
      paragraph = `${paragraph}\n${l}`;
    }
    i++;
  }
  return out;
}
