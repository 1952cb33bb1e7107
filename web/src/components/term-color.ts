/** One colour per term, so entries of one term look alike across every node's log strip. */
export function termColor(term: number): string {
  return `hsl(${(term * 67) % 360} 65% 55%)`;
}
