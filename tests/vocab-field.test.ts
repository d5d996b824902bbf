/** The Data tab's vocabulary field shows the tokenizer in use, unless another size was asked for a new one. */
import { describe, expect, it } from 'vitest';
import { initialTokenizerForm } from '../src/ui/data/data-store';
import { shownVocab } from '../src/ui/tokenizer/vocab-field';

describe('the tokenizer card vocabulary field', () => {
  it('shows the real size of the tokenizer in use, and a wanted size only for a new training', () => {
    const untouched = initialTokenizerForm.vocab;
    expect(untouched).toBe('16384');
    expect(shownVocab(untouched, 18_447, false)).toBe('18447'); // the field used to say 16384 here
    expect(shownVocab(untouched, null, false)).toBe('16384'); // no tokenizer yet: the size a first one trains to
    expect(shownVocab('50304', 18_447, false)).toBe('50304'); // the post's recipe asked for another
    expect(shownVocab(untouched, 18_447, true)).toBe('16384'); // typed by the user, even if it is the default
    expect(shownVocab('', 18_447, true)).toBe('');
  });
});
