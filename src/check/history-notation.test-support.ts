/**
 * A compact notation for hand-written histories in tests, one event per line:
 *
 *   1 invoke write x 1
 *   1 ok     write x 1
 *   2 invoke cas   x [1,2]
 *
 * process, type, f, key, then the value as JSON (the rest of the line). An optional
 * `@time` before the process sets the event's time.
 */
import type { HistoryEvent, HistoryEventType, OperationName } from './history.js';

export function events(text: string): HistoryEvent[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map(parseNotationLine);
}

function parseNotationLine(line: string): HistoryEvent {
  const fields = line.split(/\s+/);
  const time = fields[0]?.startsWith('@') ? Number(fields.shift()?.slice(1)) : undefined;
  const [process, type, f, key, ...value] = fields;
  const event: HistoryEvent = {
    process: Number(process),
    type: type as HistoryEventType,
    f: f as OperationName,
    key: key as string,
    value: JSON.parse(value.join(' ')),
  };
  return time === undefined ? event : { ...event, time };
}

/** The JSON-lines text of events, as a history file holds them. */
export function jsonLines(history: readonly HistoryEvent[]): string {
  return `${history.map((event) => JSON.stringify(event)).join('\n')}\n`;
}
