/**
 * One attempt of an operation, classified the way the checker needs it: `ok` (with
 * the answer), `fail` (certainly not applied) or `info` (unknown: it may have been).
 */
export type Attempt<T> = { readonly kind: 'ok'; readonly value: T } | { readonly kind: 'fail' | 'info'; readonly why: string };

/** The reason of a fail the cluster decided on its own (a guard that did not hold):
 * the cluster was available, so it counts as served. */
export const guardFailed = 'the guard did not hold';
