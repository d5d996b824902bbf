import { describe, expect, it } from 'vitest';
import { messageOf } from '../src/util/errors';

describe('messageOf', () => {
  it('shows an Error by its message and anything else as a string', () => {
    expect(messageOf(new RangeError('index 9 is past 4'))).toBe('index 9 is past 4');
    expect(messageOf('plain text')).toBe('plain text');
    expect(messageOf(42)).toBe('42');
    expect(messageOf(undefined)).toBe('undefined');
  });
});
