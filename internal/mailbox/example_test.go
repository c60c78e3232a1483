package mailbox_test

import (
	"fmt"

	"github.com/kjump/kjump/internal/mailbox"
)

func ExampleEncode() {
	page := make([]byte, mailbox.Size)
	mailbox.Encode(page, mailbox.Message{State: mailbox.Done, Seq: 1, Payload: []byte(`{"pages":42}`)})
	m, err := mailbox.Decode(page)
	fmt.Println(m.State, m.Seq, string(m.Payload), err)
	// Output: done 1 {"pages":42} <nil>
}
