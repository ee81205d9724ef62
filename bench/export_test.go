package bench

// SetBulkAbove lowers the store size from which the growth scenarios insert
// in bulk, so that a small test covers both insert paths; it returns a
// function restoring it.
func SetBulkAbove(n int) (restore func()) {
	old := bulkAbove
	bulkAbove = n
	return func() { bulkAbove = old }
}

// Select exposes the scenario filter: the names it selects.
func Select(opts Options) ([]string, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	sel, err := selectScenarios(catalog(opts), opts.Scenarios, opts.SkipGrowth)
	var names []string
	for _, s := range sel {
		names = append(names, s.name)
	}
	return names, err
}
