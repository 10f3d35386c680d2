/// The values of a list field (`in`, `terms`, `needs`, `give`): one or more, in the order written.
///
/// A single value, by far the most common case, is stored inline, so parsing `in:DE` allocates nothing.
public struct FieldList<Element: Hashable & Sendable>: RandomAccessCollection, Hashable, Sendable,
    ExpressibleByArrayLiteral, CustomStringConvertible
{
    private enum Storage: Hashable, Sendable {
        case one(Element)
        case many([Element])
    }

    private var storage: Storage

    /// A list of the given values; `nil` when there are none, since a list field is never empty.
    public init?(_ elements: some Sequence<Element>) {
        let array = Array(elements)
        guard let first = array.first else { return nil }
        storage = array.count == 1 ? .one(first) : .many(array)
    }

    public init(_ element: Element) { storage = .one(element) }

    /// - Precondition: at least one element; a list field is never empty.
    public init(arrayLiteral elements: Element...) {
        precondition(!elements.isEmpty, "a list field has at least one value")
        storage = elements.count == 1 ? .one(elements[0]) : .many(elements)
    }

    init(uncheckedNonEmpty elements: [Element]) {
        storage = elements.count == 1 ? .one(elements[0]) : .many(elements)
    }

    public var startIndex: Int { 0 }

    public var endIndex: Int {
        switch storage {
        case .one: 1
        case .many(let elements): elements.count
        }
    }

    public subscript(position: Int) -> Element {
        switch storage {
        case .one(let element):
            precondition(position == 0, "index out of range")
            return element
        case .many(let elements):
            return elements[position]
        }
    }

    public var description: String { map { "\($0)" }.joined(separator: ",") }

    /// Equal lists hold equal elements in the same order, however they are stored.
    public static func == (lhs: FieldList, rhs: FieldList) -> Bool { lhs.elementsEqual(rhs) }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        for element in self { hasher.combine(element) }
    }
}
