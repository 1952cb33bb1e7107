/**
 * Operations written for people, in call notation: `write(1)`, `cas(1, 2)`,
 * `read() → 1`, with `→ ?` for an unknown outcome and `→ fail` for a failure.
 */
import type { Operation } from './history.js';

export function describeOperation(operation: Operation): string {
  return `${operation.f}(${argumentsOf(operation)})${resultOf(operation)}`;
}

function argumentsOf(operation: Operation): string {
  switch (operation.f) {
    case 'read':
    case 'get':
    case 'delete':
      return '';
    case 'cas':
      return (operation.input as unknown[]).map((value) => JSON.stringify(value)).join(', ');
    default:
      return JSON.stringify(operation.input);
  }
}

function resultOf(operation: Operation): string {
  if (operation.outcome === 'unknown') return ' → ?';
  if (operation.outcome === 'fail') return ' → fail';
  return operation.f === 'read' || operation.f === 'get' ? ` → ${JSON.stringify(operation.output)}` : '';
}
