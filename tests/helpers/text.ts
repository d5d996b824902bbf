/** Seeded, book-like sentences for data tests: varied lengths, punctuation, quotes and accents. */
import { cutUtf8 } from '../../src/data/text-sample';
import { rng } from './random';

const WORDS = (
  'the a an he she it they we you i was were is are had has have said looked went came saw knew thought ' +
  'garden house door window road river night morning light dark old young little long small great ' +
  'man woman child mother father friend stranger voice hand face eyes heart time life world day year ' +
  'slowly quietly suddenly again never always only just still then there here away back down up ' +
  'and but or so because when while if though of to in on at by with from into over under about ' +
  'café naïve façade jalapeño über déjà vu'
).split(' ');

export function bookRows(count: number, seed: number): string[] {
  const random = rng(seed);
  const pick = () => WORDS[Math.floor(random() * WORDS.length)]!;
  const rows: string[] = [];
  for (let i = 0; i < count; i++) {
    const words = Array.from({ length: 4 + Math.floor(random() * 16) }, pick);
    words[0] = words[0]!.charAt(0).toUpperCase() + words[0]!.slice(1);
    if (random() < 0.3) words.splice(1 + Math.floor(random() * (words.length - 1)), 0, ',');
    let sentence = words.join(' ').replace(/ ,/g, ',') + (random() < 0.15 ? '?' : '.');
    if (random() < 0.2) sentence = `"${sentence}" ${pick()} said.`;
    rows.push(sentence);
  }
  return rows;
}

/** Documents up to `n` UTF-8 bytes in all, the last one cut (what a sample takes of document rows). */
export function docsUpTo(rows: string[], n: number): string[] {
  const out: string[] = [];
  let left = n;
  for (const row of rows) {
    const bytes = Buffer.byteLength(row);
    if (bytes >= left) {
      out.push(cutUtf8(row, left));
      break;
    }
    out.push(row);
    left -= bytes;
  }
  return out;
}
