/**
 * One per card (and one per tab around them): a render error in a card (a bug, or a stored value
 * it did not expect) replaces that card with "This panel failed: <message>" and a Retry button;
 * the header, the tabs and the neighbouring cards keep working.
 */
import { Component, Fragment, type ErrorInfo, type ReactNode } from 'react';

interface Props {
  /** The panel's name, for the alert's label and the log. */
  name: string;
  children: ReactNode;
}

interface State {
  error: Error | null;
  /** Bumped by Retry: remounts the children from scratch. */
  generation: number;
}

export class ErrorBoundary extends Component<Props, State> {
  override state: State = { error: null, generation: 0 };

  static getDerivedStateFromError(error: unknown): Partial<State> {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    // The stack goes to the console for a bug report; the page shows one line.
    console.error(`the ${this.props.name} panel failed:`, error, info.componentStack);
  }

  override render(): ReactNode {
    const { error, generation } = this.state;
    if (error) {
      return (
        <div role="alert" aria-label={`${this.props.name} failed`} className="card alert panel-error">
          <p>This panel failed: {error.message || error.name}. The other panels keep working.</p>
          <button
            type="button"
            className="secondary"
            onClick={() => this.setState({ error: null, generation: generation + 1 })}
          >
            Retry
          </button>
        </div>
      );
    }
    // No wrapper element: the card stays a direct child of its column or grid.
    return <Fragment key={generation}>{this.props.children}</Fragment>;
  }
}
