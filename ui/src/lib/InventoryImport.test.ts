import { clearMocks } from '@tauri-apps/api/mocks';
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { afterEach, describe, expect, test, vi } from 'vitest';
import type { ImportPreview } from './bindings/ImportPreview';
import InventoryImport from './InventoryImport.svelte';
import { fakeBackend, importPreview } from './testing';

afterEach(() => clearMocks());

const words = (el: Element | null) => el?.textContent?.replace(/\s+/g, ' ').trim();
const cells = (tr: Element | null | undefined) => Array.from(tr?.children ?? []).map(words).join(' | ');

const CSV = 'Asset Tag,kind,ward\npump-7,infusion_pump,icu-1\n';

const preview: ImportPreview = importPreview({
  rows: [
    { line: 2, asset: 'pump-7', outcome: 'new', details: [] },
    { line: 3, asset: 'mon-3', outcome: 'unchanged', details: [] },
    { line: 4, asset: 'vent-2', outcome: 'changed', details: ['firmware: 1.0 → 1.1'] },
    { line: 5, asset: 'pump-9', outcome: 'conflict', details: ['ip 10.1.2.7 is already pump-7'] },
    { line: 6, asset: null, outcome: 'invalid', details: ['asset_id is missing', 'kind "toaster" is not known'] },
  ],
  counts: { new: 1, changed: 1, unchanged: 1, conflicting: 1, invalid: 1 },
  newWards: [{ id: 'icu-1', name: 'ICU 1' }],
  adopted: [{ staged: 'seen-ip-10.1.2.7', by: 'pump-7' }],
  ignoredColumns: ['Colour'],
  untouched: 4,
});

async function pick(name: string, text: string) {
  const file = new File([text], name, { type: name.endsWith('.json') ? 'application/json' : 'text/csv' });
  await fireEvent.change(screen.getByTestId('import-file'), { target: { files: [file] } });
  await vi.waitFor(() => expect((screen.getByTestId('import-check') as HTMLButtonElement).disabled).toBe(false));
}

describe('InventoryImport', () => {
  test('nothing can be checked before a file is chosen', () => {
    fakeBackend({});
    render(InventoryImport, {});
    const dialog = screen.getByTestId('inventory-import');
    expect(dialog.getAttribute('role')).toBe('dialog');
    expect((screen.getByTestId('import-check') as HTMLButtonElement).disabled).toBe(true);
    expect(screen.queryByTestId('import-submit')).toBeNull();
  });

  test('a dry run first shows the report; only Import writes, with the same text, format, mapping and file name', async () => {
    const result = { wardsCreated: 1, devicesWritten: 2, adopted: 1, auditSeq: 1042, skipped: 2 };
    const backend = fakeBackend({ inventory_preview: () => preview, inventory_import: () => result });
    render(InventoryImport, {});
    await pick('inventory.csv', CSV);
    expect((screen.getByTestId('import-format') as HTMLSelectElement).value).toBe('csv');
    await fireEvent.input(screen.getByTestId('import-mapping'), { target: { value: 'asset_id=Asset Tag\n' } });
    await fireEvent.click(screen.getByTestId('import-check'));

    const report = await screen.findByTestId('import-report');
    expect(backend.calls.map((c) => c.cmd)).toEqual(['inventory_preview']);
    expect(backend.calls[0]?.args).toEqual({ text: CSV, format: 'csv', mapping: ['asset_id=Asset Tag'] });

    expect(within(report).getAllByRole('listitem').slice(0, 5).map(words)).toEqual([
      '✚ 1 new',
      '✎ 1 changed',
      '= 1 unchanged',
      '▲ 1 conflicting',
      '✖ 1 invalid',
    ]);
    expect(words(report)).toContain('4 devices of the inventory not in this file stay as they are.');
    // Every row but the unchanged one, with line, asset, outcome and details.
    const rows = screen.getAllByTestId('import-row');
    expect(rows.map(cells)).toEqual([
      '2 | pump-7 | ✚ New | ',
      '4 | vent-2 | ✎ Changed | firmware: 1.0 → 1.1',
      '5 | pump-9 | ▲ Conflict | ip 10.1.2.7 is already pump-7',
      '6 | — | ✖ Invalid | asset_id is missingkind "toaster" is not known',
    ]);
    expect(words(screen.getByTestId('import-new-wards'))).toBe('New wards: ICU 1 (icu-1)');
    expect(words(screen.getByTestId('import-adopted'))).toBe(
      'Staged devices taken over, with their alerts: seen-ip-10.1.2.7 → pump-7',
    );
    expect(words(screen.getByTestId('import-ignored'))).toBe('Columns ignored (no field is mapped to them): Colour');

    const submit = screen.getByTestId('import-submit');
    expect(words(submit)).toBe('Import 2 devices');
    expect(words(report)).toContain('2 rows with a conflict or a problem will be left out.');
    await fireEvent.click(submit);

    expect(words(await screen.findByTestId('import-result'))).toBe(
      '✔ Imported: 2 devices written, 1 ward created, 1 staged device taken over, 2 rows left out. Audit record 1,042.',
    );
    expect(backend.calls.map((c) => c.cmd)).toEqual(['inventory_preview', 'inventory_import']);
    expect(backend.calls[1]?.args).toEqual({ text: CSV, format: 'csv', mapping: ['asset_id=Asset Tag'], fileName: 'inventory.csv' });
    expect(screen.queryByTestId('import-submit')).toBeNull();
    expect(words(screen.getByTestId('import-close'))).toBe('Done');
  });

  test('the format follows the file name and can be overridden', async () => {
    const backend = fakeBackend({ inventory_preview: () => importPreview({ format: 'csv' }) });
    render(InventoryImport, {});
    await pick('export.JSON', '[]');
    const format = screen.getByTestId('import-format') as HTMLSelectElement;
    expect(format.value).toBe('json');
    await fireEvent.change(format, { target: { value: 'csv' } });
    await fireEvent.click(screen.getByTestId('import-check'));
    await screen.findByTestId('import-report');
    expect(backend.calls[0]?.args).toEqual({ text: '[]', format: 'csv', mapping: [] });
  });

  test('changing the mapping after the check asks for a new check', async () => {
    fakeBackend({ inventory_preview: () => preview });
    render(InventoryImport, {});
    await pick('inventory.csv', CSV);
    await fireEvent.click(screen.getByTestId('import-check'));
    await screen.findByTestId('import-submit');
    await fireEvent.input(screen.getByTestId('import-mapping'), { target: { value: 'ward=Unit' } });
    expect(screen.queryByTestId('import-report')).toBeNull();
    expect(screen.queryByTestId('import-submit')).toBeNull();
  });

  test('a mapping line that cannot be read is named, and blocks the check', async () => {
    const backend = fakeBackend({ inventory_preview: () => preview });
    render(InventoryImport, {});
    await pick('inventory.csv', CSV);
    await fireEvent.input(screen.getByTestId('import-mapping'), { target: { value: 'asset_id=Tag\ncolour=Colour' } });
    expect(words(screen.getByTestId('import-mapping-problems'))).toBe('✖ Line 2: "colour" is not a field of the inventory.');
    expect((screen.getByTestId('import-check') as HTMLButtonElement).disabled).toBe(true);
    expect(backend.count('inventory_preview')).toBe(0);
  });

  test('a file with nothing new or changed cannot be imported', async () => {
    fakeBackend({
      inventory_preview: () =>
        importPreview({
          rows: [{ line: 2, asset: 'pump-7', outcome: 'unchanged', details: [] }],
          counts: { new: 0, changed: 0, unchanged: 1, conflicting: 0, invalid: 0 },
        }),
    });
    render(InventoryImport, {});
    await pick('inventory.csv', CSV);
    await fireEvent.click(screen.getByTestId('import-check'));
    expect(words(await screen.findByTestId('import-nothing'))).toBe('Nothing to import: no row is new or changed.');
    expect((screen.getByTestId('import-submit') as HTMLButtonElement).disabled).toBe(true);
    expect(screen.queryByTestId('import-row')).toBeNull();
  });

  test('a refused check or import shows the error; nothing is written', async () => {
    const backend = fakeBackend({
      inventory_preview: () => {
        throw { code: 'inventory.parse', message: 'line 3: unterminated quote' };
      },
    });
    render(InventoryImport, {});
    await pick('inventory.csv', CSV);
    await fireEvent.click(screen.getByTestId('import-check'));
    const err = await screen.findByTestId('import-error');
    expect(err.getAttribute('role')).toBe('alert');
    expect(words(err)).toBe('✖ Could not check the file: line 3: unterminated quote (inventory.parse)');
    expect(screen.queryByTestId('import-submit')).toBeNull();
    expect(backend.count('inventory_import')).toBe(0);
  });

  test('a failed import shows its error and keeps the report', async () => {
    fakeBackend({
      inventory_preview: () => preview,
      inventory_import: () => {
        throw { code: 'store.failed', message: 'disk full' };
      },
    });
    render(InventoryImport, {});
    await pick('inventory.csv', CSV);
    await fireEvent.click(screen.getByTestId('import-check'));
    await fireEvent.click(await screen.findByTestId('import-submit'));
    expect(words(await screen.findByTestId('import-error'))).toBe('✖ Could not import the inventory: disk full (store.failed)');
    expect(screen.getByTestId('import-report')).toBeTruthy();
    expect(screen.queryByTestId('import-result')).toBeNull();
  });

  test('Cancel and Escape close the dialog', async () => {
    fakeBackend({});
    const onClose = vi.fn();
    render(InventoryImport, { onClose });
    await fireEvent.click(screen.getByTestId('import-close'));
    await fireEvent.keyDown(screen.getByTestId('inventory-import'), { key: 'Escape' });
    expect(onClose).toHaveBeenCalledTimes(2);
  });
});
