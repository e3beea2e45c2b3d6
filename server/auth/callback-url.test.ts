import { describe, expect, it } from 'vitest';
import { safeCallbackPath } from './callback-url';

describe('safeCallbackPath', () => {
  it('keeps same-origin relative paths', () => {
    expect(safeCallbackPath('/dashboard?tab=audit#top')).toBe('/dashboard?tab=audit#top');
    expect(safeCallbackPath(['/dashboard/workloads', '/x'])).toBe('/dashboard/workloads');
  });

  it('turns everything else into /dashboard', () => {
    for (const bad of [
      undefined,
      '',
      'dashboard',
      '//evil.example',
      '/\\evil.example',
      'https://evil.example/',
      'javascript:alert(1)',
      '/\tevil',
      '/login?callbackUrl=/x',
    ]) {
      expect(safeCallbackPath(bad)).toBe('/dashboard');
    }
  });
});
