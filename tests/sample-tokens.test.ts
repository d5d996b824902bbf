/**
 * The Sample panel's "Show tokens": the worker's sample result carries how the prompt and the
 * output were split, each token's text is its own bytes (a piece of a character shown as <0xNN>),
 * and the chips make whitespace visible and name each id for screen readers. No GPU: the model's
 * choice of ids is replayed by a scripted sampler; the tokenizer is a real trained one.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Sampler } from '../src/model/sample';
import { Tokenizer } from '../src/tokenizer/tokenizer';
import { trainBpe } from '../src/tokenizer/trainer';
import { END_OF_TEXT } from '../src/tokenizer/types';
import { sampleText, tokenPieces } from '../src/train/sampling';
import { tokenCountLine, tokenLabel, visibleToken } from '../src/ui/lab/token-view';

const text = readFileSync('public/corpus/brown-fiction.txt', 'utf8').split('\n').slice(0, 400);
const tokenizer = new Tokenizer(
  await trainBpe(text, { vocabSize: 400, minFrequency: 2, specialTokens: [END_OF_TEXT] }),
);

/** A sampler that "generates" the given ids, as the model would one by one. */
function scripted(ids: number[]): Sampler {
  return {
    async generate(_prompt: readonly number[], options: { onToken?: (t: number) => void }) {
      for (const id of ids) options.onToken?.(id);
      return ids;
    },
  } as unknown as Sampler;
}

describe('a sample as tokens', () => {
  it('carries the prompt and output ids with their texts, which join back to the text', async () => {
    const output = tokenizer.encode(' the man said,\n"Yes."');
    const result = await sampleText(
      scripted(output),
      tokenizer,
      { prompt: 'life is about', maxTokens: output.length, temperature: 0 },
      () => undefined,
    );
    expect(result.promptTokens.map((t) => t.id)).toEqual(tokenizer.encode('life is about'));
    expect(result.promptTokens.map((t) => t.text).join('')).toBe('life is about');
    expect(result.outputTokens.map((t) => t.id)).toEqual(output);
    expect(result.outputTokens.map((t) => t.text).join('')).toBe(result.text);
    expect(result.text).toBe(' the man said,\n"Yes."');
    // Real BPE merges: fewer tokens than characters, and " the" is one token with its space.
    expect(result.outputTokens.length).toBeLessThan(result.text.length);
    expect(result.outputTokens[0]).toEqual({ id: tokenizer.idOf('Ġthe'), text: ' the' });
  });

  it('an empty prompt is the <|endoftext|> token, named as such', async () => {
    const result = await sampleText(
      scripted([]),
      tokenizer,
      { prompt: '', maxTokens: 0, temperature: 0 },
      () => undefined,
    );
    expect(result.promptTokens).toEqual([{ id: tokenizer.endOfText, text: END_OF_TEXT }]);
  });

  it('a token holding part of a character shows its bytes, not a replacement character', () => {
    const ids = tokenizer.encode('🙂'); // 4 bytes no merge of this corpus covers: one byte token each
    const pieces = tokenPieces(tokenizer, ids);
    expect(pieces.map((p) => p.text)).toEqual(['<0xF0>', '<0x9F>', '<0x99>', '<0x82>']);
    expect(pieces.map((p) => p.id)).toEqual(ids);
  });
});

describe('how a chip reads', () => {
  it('shows whitespace and says each id', () => {
    expect(visibleToken(' the')).toBe('·the');
    expect(visibleToken('.\n\n')).toBe('.↵↵');
    expect(visibleToken('\tx')).toBe('→x');
    expect(tokenLabel({ id: 262, text: ' the' })).toBe('space the, id 262');
    expect(tokenLabel({ id: 198, text: '\n' })).toBe('newline, id 198');
    expect(
      tokenCountLine(
        [{ id: 1, text: 'a' }],
        [
          { id: 2, text: 'b' },
          { id: 3, text: 'c' },
        ],
      ),
    ).toBe('3 tokens: 1 in the prompt, 2 generated');
  });
});
