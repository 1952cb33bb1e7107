/**
 * The linearizability checker: histories of operations, checked against a model of the store.
 * This file is what other folders may use of it (scripts/check-imports.mjs).
 */
export { HistoryError, pairOperations, parseHistoryWithLines } from './history.js';
export type { HistoryEvent, Operation, OperationName } from './history.js';
export { checkHistory, checkOperations } from './linearizability.js';
export type { CheckResult } from './linearizability.js';
export { describeOperation } from './operation-text.js';
export { renderTimelineHtml } from './timeline-html.js';
