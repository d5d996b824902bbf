/**
 * A labelled number input that keeps what the user is typing ("1e-" on the way to "1e-3") and
 * reports the parsed value on every change (NaN while it is not a number: the form's checks say so,
 * beside the field).
 */
import { useId, useState } from 'react';

export interface NumberFieldProps {
  label: string;
  value: number;
  onChange: (value: number) => void;
  disabled?: boolean;
  hint?: string;
  /** What is wrong with the value, said beside the field (and the field marked invalid). */
  problem?: string;
}

function parse(text: string): number {
  return text.trim() === '' ? NaN : Number(text);
}

export function NumberField({ label, value, onChange, disabled, hint, problem }: NumberFieldProps) {
  const id = useId();
  const [text, setText] = useState(String(value));
  // A value set from outside (a device suggestion, a plan) replaces the text unless they agree;
  // adjusted while rendering (not in an effect) so the field never shows the old text for a frame.
  const [shownValue, setShownValue] = useState(value);
  if (!Object.is(shownValue, value)) {
    setShownValue(value);
    if (!Object.is(parse(text), value)) setText(String(value));
  }
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="text"
        inputMode="decimal"
        value={text}
        disabled={disabled}
        aria-invalid={problem ? true : undefined}
        aria-describedby={[problem && `${id}-problem`, hint && `${id}-hint`].filter(Boolean).join(' ') || undefined}
        onChange={(event) => {
          setText(event.target.value);
          onChange(parse(event.target.value));
        }}
      />
      {problem && (
        <span id={`${id}-problem`} className="field-problem">
          {problem}
        </span>
      )}
      {hint && (
        <span id={`${id}-hint`} className="muted hint">
          {hint}
        </span>
      )}
    </div>
  );
}
