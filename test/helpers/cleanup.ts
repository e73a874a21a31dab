import { after } from 'node:test';

/**
 * A disposer stack. Each resource is put on it the moment it exists, so a set-up that throws halfway (one of
 * several parallel starts rejecting, say) still leaves everything it made closable; closing runs in reverse
 * order of creation, each step bounded so that one stuck close cannot hold the rest (or the test run) hostage.
 */
export class Cleanup {
  private readonly steps: Array<{ what: string; run: () => Promise<void> }> = [];

  /** Registers `close` for `what`; the returned function closes it now (at most once) and takes it off the stack. */
  add(what: string, close: () => unknown): () => Promise<void> {
    let done: Promise<void> | undefined;
    const step = {
      what,
      run: () => (done ??= Promise.resolve().then(close).then(() => undefined)),
    };
    this.steps.push(step);
    return async () => {
      const at = this.steps.indexOf(step);
      if (at >= 0) this.steps.splice(at, 1);
      await step.run();
    };
  }

  /** Registers `value`'s close and returns the value, for use inside expressions. */
  keep<T>(what: string, value: T, close: (value: T) => unknown): T {
    this.add(what, () => close(value));
    return value;
  }

  /** Closes everything, newest first. Failures are reported together after every step has been tried. */
  async run(timeoutMs = 30_000): Promise<void> {
    const failures: string[] = [];
    while (this.steps.length) {
      const step = this.steps.pop()!;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`did not close within ${timeoutMs / 1000} s`)), timeoutMs);
      });
      try {
        await Promise.race([step.run(), timedOut]);
      } catch (err) {
        failures.push(`${step.what}: ${(err as Error).message}`);
      } finally {
        clearTimeout(timer);
      }
    }
    if (failures.length) throw new Error(`cleanup failed for ${failures.join('; ')}`);
  }

  /**
   * Builds something out of several resources: they go on a stack of their own, closed at once if `build`
   * throws, else handed to this stack as one step (`what`). Returns what `build` returned and its close.
   */
  async assemble<T>(what: string, build: (parts: Cleanup) => Promise<T>): Promise<{ value: T; close: () => Promise<void> }> {
    const parts = new Cleanup();
    try {
      const value = await build(parts);
      return { value, close: this.add(what, () => parts.run()) };
    } catch (err) {
      await parts.run().catch(() => {});
      throw err;
    }
  }
}

/** The test file's stack, closed after its tests; node:test runs `after` even when a `before` hook failed. */
export function fileCleanup(): Cleanup {
  const cleanup = new Cleanup();
  after(() => cleanup.run());
  return cleanup;
}
