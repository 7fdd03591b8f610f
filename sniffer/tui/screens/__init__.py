"""Secondary screens: conversations, transfers, follow link, ladder, help, export."""
