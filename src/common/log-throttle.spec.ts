import { heldBackSuffix, LogThrottle } from './log-throttle';

describe('LogThrottle', () => {
  it('lets the first line through and holds back the rest of the interval', () => {
    let clock = 0;
    const throttle = new LogThrottle(1000, () => clock);

    expect(throttle.take('read')).toBe(0);
    clock = 999;
    expect(throttle.take('read')).toBeNull();
    expect(throttle.take('read')).toBeNull();

    clock = 1000;
    expect(throttle.take('read')).toBe(2);
  });

  it('keeps separate intervals per key', () => {
    const throttle = new LogThrottle(1000, () => 0);

    expect(throttle.take('read')).toBe(0);
    expect(throttle.take('channel')).toBe(0);
  });

  it('lets a line through at once after a reset', () => {
    const throttle = new LogThrottle(1000, () => 0);
    throttle.take('read');

    throttle.reset('read');

    expect(throttle.take('read')).toBe(0);
  });

  it('describes held-back lines only when there were some', () => {
    expect(heldBackSuffix(0)).toBe('');
    expect(heldBackSuffix(1)).toBe(' (1 similar line held back)');
    expect(heldBackSuffix(7)).toBe(' (7 similar lines held back)');
  });
});
