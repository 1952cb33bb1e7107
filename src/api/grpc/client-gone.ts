/**
 * The signal a unary method gets for "the client went away first", made only when the
 * method asks for it: only a Lock or a Campaign waits long enough to care, and an
 * AbortController for every put was 1-2% of a member's CPU under load.
 */
export class ClientGone {
  private controller: AbortController | undefined;
  private gone = false;

  /** The client went away: the signal, made now or later, is aborted. */
  happened(): void {
    this.gone = true;
    this.controller?.abort();
  }

  /** The signal (the same one at every call). */
  readonly signal = (): AbortSignal => {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.gone) this.controller.abort();
    }
    return this.controller.signal;
  };
}
