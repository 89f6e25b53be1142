"""1EdTech CASE 1.0 packages: import as a framework (and rubric drafts), export back.

Mapping: CFDocument → Framework, CFItem → Competency, CFAssociation (every type) →
CompetencyAssociation, CFRubric → Rubric with a draft version, CFRubricCriterion → element,
CFRubricCriterionLevel → level (one set per rubric, ordered by score) and cell descriptor.

Lossless: the CFDocument, every CFItem, every CFAssociation (also those pointing at items outside
the package, kept by their node reference) and CFDefinitions are stored as imported next to the
columns, so import → export → import gives the same package. The first `isChildOf` of an item to
the document or another item of the package places it in the tree (`parent_id`); further
`isChildOf` associations list it under more parents. Only `isChildOf` must stay inside the
package and free of cycles.

Valid CASE 1.0 out: identifiers that are not UUIDs (ASN purl URLs, for instance) are exported as
UUIDs derived from them, with the original in an `extensions` object of the CFDocument, CFItem or
CFAssociation (the CASE 1.0 schema allows further properties there and nowhere else); an import
puts the original back. What CASE has no place for in a CFRubric (evidence guidance, required
flag, pass rule) travels in the CFDocument's `extensions` under `portfolio:rubrics`.

An import is all or nothing: the whole package is validated first, every problem is collected
with file, identifier, field and reason, and nothing is written unless there are none.


Modules: `package` (what a parsed package holds, its problems and identifier rules), `parse`
and `parse_rubrics` (reading and validating), `importer` (writing a framework from a package),
`export` (a framework as a package) and `diff` (what an update from the source would change).
"""
