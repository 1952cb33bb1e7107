/** The frames of a node's event stream, declared once where the node writes them (src/wire/). */
export type { HelloFrame as Hello, MessageSummary, StatusFrame } from '../../../src/wire/index';
