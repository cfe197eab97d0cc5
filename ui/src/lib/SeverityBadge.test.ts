import { render } from '@testing-library/svelte';
import { describe, expect, test } from 'vitest';
import SeverityBadge from './SeverityBadge.svelte';

describe('SeverityBadge', () => {
  test.each([
    [10, 'critical', '▲', 'Critical'],
    [8, 'high', '◆', 'High'],
    [5, 'medium', '●', 'Medium'],
    [1, 'low', '○', 'Low'],
  ] as const)('severity %i shows a shape and a word', (severity, label, icon, text) => {
    const { getByTestId } = render(SeverityBadge, { severity, label });
    const badge = getByTestId('alert-severity');
    expect(badge.textContent?.replace(/\s+/g, ' ').trim()).toBe(`${icon} ${text}`);
    expect(badge.dataset.severity).toBe(label);
    expect(badge.getAttribute('title')).toBe(`Severity ${severity} of 10`);
  });

  test('follows the backend label when it has one', () => {
    const { getByTestId } = render(SeverityBadge, { severity: 2, label: 'high' });
    expect(getByTestId('alert-severity').dataset.severity).toBe('high');
  });

  test('falls back to the number when the label is unknown', () => {
    // @ts-expect-error a label outside the contract, as a newer backend might send
    const { getByTestId } = render(SeverityBadge, { severity: 9, label: 'urgent' });
    expect(getByTestId('alert-severity').textContent).toContain('Critical');
  });
});
