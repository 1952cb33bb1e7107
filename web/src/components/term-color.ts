/** One colour per term, so entries of one term look alike across every node's log strip. */
export function termColor(term: number): string {
  // Golden-angle steps keep neighbouring terms far apart on the colour wheel; dark enough
  // for the white term number on it.
  return `hsl(${(200 + term * 137.5) % 360} 60% 40%)`;
}
