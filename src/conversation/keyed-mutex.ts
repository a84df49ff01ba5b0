// One lock per key (a conversation id): holders of the same key run one after the other, other
// keys are not held up. Entries disappear when nobody holds or waits for them.
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async lock(key: string): Promise<() => void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let unlock!: () => void;
    const current = new Promise<void>((resolve) => (unlock = resolve));
    const tail = previous.then(() => current);
    this.tails.set(key, tail);
    await previous;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      unlock();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
  }
}
