import { readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { brownFileToText, buildBrownFiction, CORPUS_FILE, defaultCorpusDir } from '../scripts/build-corpus';

const committed = readFileSync(CORPUS_FILE, 'utf8');

describe('bundled Brown fiction corpus', () => {
  it('is exactly what scripts/build-corpus.ts builds (rebuild with npm run build:corpus)', () => {
    // Compare lengths first so a mismatch does not print two 1.4 MB strings.
    const built = buildBrownFiction(defaultCorpusDir());
    expect(committed.length).toBe(built.length);
    expect(committed === built).toBe(true);
  });

  it('has the expected size and layout', () => {
    const bytes = statSync(CORPUS_FILE).size;
    expect(bytes).toBeGreaterThan(1_300_000);
    expect(bytes).toBeLessThan(1_500_000);
    const lines = committed.split('\n');
    expect(lines.at(-1)).toBe(''); // ends with one newline
    // 126 source files (ck01..cr09) joined by 125 blank lines.
    expect(lines.slice(0, -1).filter((line) => line === '')).toHaveLength(125);
    expect(lines.length).toBeGreaterThan(5000);
  });

  it('has no POS-tag residue and no space before punctuation', () => {
    expect(committed).not.toContain('/');
    for (const bad of [' ,', ' .', ' ;', ' :', ' ?', ' !', '( ', ' )', '``', "''", '  ', ';;', '??']) {
      expect(committed, JSON.stringify(bad)).not.toContain(bad);
    }
  });

  it('contains known sentences, spaced as in print', () => {
    const firstLine = committed.slice(0, committed.indexOf('\n'));
    expect(firstLine.startsWith('Scotty did not go back to school. His parents talked seriously')).toBe(true);
    for (const sentence of [
      '"The blueberry pie is good, Scotty. I recommend it." He looked at his son, his face worried.',
      'Scotty murmured, "No, thanks," so softly his father had to bend',
      'Since his seizure, Scotty had had little appetite; yet his changed appearance',
      'Ching had told him (smiling, patting him on the back) as they walked',
      'could anyone really take Papa-san?',
      'a "celebration lunch" at the cafeteria',
      "a story is about 'why' and then, perhaps, about how.",
    ]) {
      expect(committed).toContain(sentence);
    }
  });
});

describe('brownFileToText', () => {
  it('joins sentence lines into paragraphs and drops headings', () => {
    const source = [
      '',
      'Chapter/nn-hl 9/cd-hl ',
      'It/pps rained/vbd ./.',
      'We/ppss waited/vbd ./.',
      '',
      '',
      '\tThen/rb it/pps stopped/vbd ./.',
    ].join('\n');
    expect(brownFileToText(source)).toBe('It rained. We waited.\nThen it stopped.');
  });

  it('undoubles ? ! ; and moves sentence punctuation inside closing quotes', () => {
    const source = "``/`` Why/wrb ?/. ?/. ''/'' he/pps asked/vbd ;/. ;/. she/pps said/vbd ,/, ``/`` Go/vb ''/'' ./.";
    expect(brownFileToText(source)).toBe('"Why?" he asked; she said, "Go."');
  });

  it('pairs single quotes, including one that never closes', () => {
    expect(brownFileToText("He/pps said/vbd ,/, '/' Give/vb it/ppo '/' ./.")).toBe("He said, 'Give it.'");
    expect(brownFileToText("A/at '/' why/wrb '/' and/cc said/vbd ,/, '/' Look/vb ./.")).toBe(
      "A 'why' and said, 'Look.",
    );
  });

  it('names the line of a token without a tag', () => {
    expect(() => brownFileToText('ok/jj\nbroken', 'ck99')).toThrow(/ck99:2: "broken" is not a word\/tag pair/);
  });
});
