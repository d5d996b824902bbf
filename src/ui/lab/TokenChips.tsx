/**
 * A sample as its tokens, as Sequence Toy shows them: one chip per token, alternating backgrounds so
 * neighbours stand apart, the prompt's chips outlined, whitespace visible, the id on hover (title)
 * and for keyboard and screen-reader users (the list is one Tab stop; each chip's label has its id).
 */
import type { TokenPiece } from '../../train/protocol';
import { tokenCountLine, tokenLabel, visibleToken } from './token-view';
import './tokens.css';

export function TokenChips({ prompt, output, label }: { prompt: TokenPiece[]; output: TokenPiece[]; label: string }) {
  const all = [...prompt.map((p) => ({ ...p, prompt: true })), ...output.map((p) => ({ ...p, prompt: false }))];
  return (
    <div className="token-view">
      <ol className="token-chips" aria-label={label} tabIndex={0}>
        {all.map((p, i) => (
          <li
            key={i}
            className={`token-chip${i % 2 ? ' alt' : ''}${p.prompt ? ' in-prompt' : ''}`}
            title={`id ${p.id}${p.prompt ? ' (prompt)' : ''}`}
            aria-label={tokenLabel(p) + (p.prompt ? ', prompt' : '')}
            data-id={p.id}
          >
            {visibleToken(p.text)}
          </li>
        ))}
      </ol>
      <p className="muted">{tokenCountLine(prompt, output)}</p>
    </div>
  );
}
