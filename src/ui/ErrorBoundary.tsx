/**
 * One per panel: a render error in a panel (a bug, or a stored value the panel did not expect)
 * replaces that panel with its message and a Reload-panel button; the header, the tabs and the
 * other panels keep working.
 */
import { Component, type ErrorInfo, type ReactNode } from 'react';

interface Props {
  /** The panel's name, for the message and the log. */
  name: string;
  children: ReactNode;
}

interface State {
  error: Error | null;
  /** Bumped by Reload panel: remounts the children from scratch. */
  generation: number;
}

export class ErrorBoundary extends Component<Props, State> {
  override state: State = { error: null, generation: 0 };

  static getDerivedStateFromError(error: unknown): Partial<State> {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    // The stack goes to the console for a bug report; the page shows one line.
    console.error(`the ${this.props.name} panel hit a bug:`, error, info.componentStack);
  }

  override render(): ReactNode {
    const { error, generation } = this.state;
    if (error) {
      return (
        <div role="alert" className="alert panel-error">
          <p>
            This panel hit a bug: {error.message || error.name}. The other panels keep working.
          </p>
          <button type="button" className="secondary" onClick={() => this.setState({ error: null, generation: generation + 1 })}>
            Reload panel
          </button>
        </div>
      );
    }
    return <div key={generation} className="panel-boundary">{this.props.children}</div>;
  }
}
