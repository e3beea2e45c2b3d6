'use client';

import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';

const NowContext = createContext(0);

/**
 * One shared one-second clock for countdowns and "ago" texts. It starts at the view's `generatedAt`, so the
 * server render and the first client render agree, and then follows the browser's clock.
 */
export function ClockProvider({ start, children }: { start: number; children: ReactNode }) {
  const [now, setNow] = useState(start);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  return <NowContext.Provider value={now}>{children}</NowContext.Provider>;
}

export function useNow(): number {
  return useContext(NowContext);
}
