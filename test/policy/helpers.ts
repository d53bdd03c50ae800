/** Shared test helpers for policy tests. */
export const ok = () => 'ok';
export const boom = (): never => {
  throw new Error('boom');
};

/** Runs `fn` and returns the error it rejects with (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, got a value');
}

/** A promise with its resolve/reject exposed. */
export function deferred<T = void>() {
  return Promise.withResolvers<T>();
}
