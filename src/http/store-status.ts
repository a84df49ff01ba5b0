// Whether the store answers: what /ready reports, and what tells an outage (503) from a bug (500).
const CHECK_TIMEOUT_MS = 2000;

/** True when `checkReady` resolves within a short time; a store that hangs counts as down. */
export async function storeAnswers(checkReady: () => Promise<void>, timeoutMs = CHECK_TIMEOUT_MS): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('the store did not answer in time')), timeoutMs);
  });
  try {
    await Promise.race([checkReady(), timeout]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
